package octavus

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/octavus-go/octavus/internal/wire"
)

// FilesAPI gets presigned URLs to upload files to a session. Get it from
// Client.Files. Files go straight to storage, not through the platform.
type FilesAPI struct{ c *Client }

// FileUploadRequest describes one file to upload.
type FileUploadRequest struct {
	Filename  string `json:"filename"`
	MediaType string `json:"mediaType"`
	// Size is the file's size in bytes.
	Size int64 `json:"size"`
}

// FileUploadInfo is where to upload one file and where it can be read.
type FileUploadInfo struct {
	// ID identifies the file in a FileReference.
	ID string `json:"id"`
	// UploadURL takes the file's bytes with PUT (valid 15 minutes).
	UploadURL string `json:"uploadUrl"`
	// DownloadURL reads the file (valid as long as the session); use it as
	// FileReference.URL.
	DownloadURL string `json:"downloadUrl"`
}

// UploadURLsResponse is the answer of GetUploadURLs, one entry per file in
// the order asked.
type UploadURLsResponse struct {
	Files []FileUploadInfo `json:"files"`
}

// GetUploadURLs returns presigned upload and download URLs for files of
// session sessionID.
func (f *FilesAPI) GetUploadURLs(ctx context.Context, sessionID string, files []FileUploadRequest) (*UploadURLsResponse, error) {
	if err := checkID("session id", sessionID); err != nil {
		return nil, err
	}
	if files == nil {
		files = []FileUploadRequest{}
	}
	body := struct {
		SessionID string              `json:"sessionId"`
		Files     []FileUploadRequest `json:"files"`
	}{sessionID, files}
	const path = "/api/files/upload-urls"
	var out UploadURLsResponse
	check := func(o *wire.Object) error {
		for i, fi := range o.Array("files") {
			fi.String("id")
			for _, key := range []string{"uploadUrl", "downloadUrl"} {
				u := fi.String(key)
				if fi.Err() != nil {
					break
				}
				// zod's z.url(): an absolute URL.
				if pu, err := url.Parse(u); err != nil || pu.Scheme == "" || pu.Host == "" {
					return fmt.Errorf("files[%d] has an invalid %s %q", i, key, u)
				}
			}
			if err := fi.Err(); err != nil {
				return err
			}
		}
		return o.Err()
	}
	if err := f.c.doChecked(ctx, http.MethodPost, path, body, check, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
