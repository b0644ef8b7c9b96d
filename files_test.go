package octavus

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

const uploadAnswer = `{"files":[
 {"id":"file_1","uploadUrl":"https://s3.example/up/1?sig=a","downloadUrl":"https://s3.example/down/1?sig=b"},
 {"id":"file_2","uploadUrl":"https://s3.example/up/2","downloadUrl":"http://localhost:9000/down/2"}
]}`

func TestFilesGetUploadURLs(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("POST /api/files/upload-urls", jsonRoute(uploadAnswer))
	res, err := f.client(t).Files.GetUploadURLs(context.Background(), "sess_1", []FileUploadRequest{
		{Filename: "photo.jpg", MediaType: "image/jpeg", Size: 102400},
		{Filename: "doc.pdf", MediaType: "application/pdf", Size: 204800},
	})
	require.NoError(t, err)
	require.Equal(t, &UploadURLsResponse{Files: []FileUploadInfo{
		{ID: "file_1", UploadURL: "https://s3.example/up/1?sig=a", DownloadURL: "https://s3.example/down/1?sig=b"},
		{ID: "file_2", UploadURL: "https://s3.example/up/2", DownloadURL: "http://localhost:9000/down/2"},
	}}, res)

	r := oneRequest(t, f)
	require.Equal(t, http.MethodPost, r.Method)
	require.Equal(t, "/api/files/upload-urls", r.Path)
	require.Empty(t, r.Query)
	require.Equal(t, `{"sessionId":"sess_1","files":[{"filename":"photo.jpg","mediaType":"image/jpeg","size":102400},{"filename":"doc.pdf","mediaType":"application/pdf","size":204800}]}`,
		string(r.Body))
}

func TestFilesGetUploadURLsNilFilesSendsEmptyArray(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("POST /api/files/upload-urls", jsonRoute(`{"files":[]}`))
	res, err := f.client(t).Files.GetUploadURLs(context.Background(), "sess_1", nil)
	require.NoError(t, err)
	require.Equal(t, &UploadURLsResponse{Files: []FileUploadInfo{}}, res)
	require.JSONEq(t, `{"sessionId":"sess_1","files":[]}`, string(oneRequest(t, f).Body))
}

func TestFilesGetUploadURLsSessionIDInBodyOnly(t *testing.T) {
	// The session id travels in the body: odd characters are JSON, not path.
	f := newFakePlatform(t)
	f.handle("POST /api/files/upload-urls", jsonRoute(`{"files":[]}`))
	_, err := f.client(t).Files.GetUploadURLs(context.Background(), "../a/b?c#d", []FileUploadRequest{{Filename: "a<b>.txt", MediaType: "text/plain", Size: 1}})
	require.NoError(t, err)
	r := oneRequest(t, f)
	require.Equal(t, "/api/files/upload-urls", escapedPath(r))
	require.Equal(t, `{"sessionId":"../a/b?c#d","files":[{"filename":"a<b>.txt","mediaType":"text/plain","size":1}]}`, string(r.Body))
}

func TestFilesGetUploadURLsBadAnswers(t *testing.T) {
	file := func(m map[string]any) map[string]any { return m["files"].([]any)[1].(map[string]any) }
	cases := map[string]string{
		"not json":             `nope`,
		"array":                `[]`,
		"without files":        `{}`,
		"files null":           `{"files":null}`,
		"files object":         `{"files":{}}`,
		"id number":            editJSON(t, uploadAnswer, func(m map[string]any) { file(m)["id"] = 2 }),
		"relative uploadUrl":   editJSON(t, uploadAnswer, func(m map[string]any) { file(m)["uploadUrl"] = "/up/2" }),
		"empty downloadUrl":    editJSON(t, uploadAnswer, func(m map[string]any) { file(m)["downloadUrl"] = "" }),
		"unparsable uploadUrl": editJSON(t, uploadAnswer, func(m map[string]any) { file(m)["uploadUrl"] = "http://[::1" }),
		"downloadUrl number":   editJSON(t, uploadAnswer, func(m map[string]any) { file(m)["downloadUrl"] = 1 }),
	}
	for _, key := range []string{"id", "uploadUrl", "downloadUrl"} {
		cases["without "+key] = editJSON(t, uploadAnswer, func(m map[string]any) { delete(file(m), key) })
	}
	for name, answer := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFakePlatform(t)
			f.handle("POST /api/files/upload-urls", jsonRoute(answer))
			res, err := f.client(t).Files.GetUploadURLs(context.Background(), "sess_1", []FileUploadRequest{{Filename: "a", MediaType: "text/plain", Size: 1}})
			require.Error(t, err)
			require.Nil(t, res)
			var apiErr *APIError
			require.False(t, errors.As(err, &apiErr))
		})
	}
}
