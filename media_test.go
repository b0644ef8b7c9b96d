package octavus

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Payloads by their magic bytes (C/media-tool-result.ts sniffImageMediaType).
var (
	pngBytes  = append([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, "\x00\x00\x00\rIHDR-png-rest"...)
	jpegBytes = append([]byte{0xff, 0xd8, 0xff, 0xe0}, "\x00\x10JFIF-jpeg-rest"...)
	gifBytes  = []byte("GIF89a\x01\x00\x01\x00-gif-rest")
	gif87     = []byte("GIF87a-old-gif")
	webpBytes = []byte("RIFF\x24\x00\x00\x00WEBPVP8 -webp-rest")
	htmlBytes = []byte("<!doctype html><html><body>Please sign in</body></html>")
	mp3Bytes  = []byte("ID3\x04\x00\x00-mp3-frames")
	blobBytes = []byte{0, 1, 2, 3, 254, 255}
	pdfBytes  = []byte("%PDF-1.7\n%report")
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// mediaEnv is a platform answering upload-urls and a storage host (another
// port) taking the PUTs, both recording what they get.
type mediaEnv struct {
	platform, storage *httptest.Server

	mu       sync.Mutex
	urls     map[string]string       // session -> "ok" | "error" | "short"
	failPut  map[string]map[int]bool // session -> upload numbers whose PUT is refused
	counters map[string]int
	uploads  map[string][]any // session -> upload-urls bodies
	puts     map[string][]putRecord
	auth     []string // Authorization of the upload-urls requests
}

type putRecord struct {
	Path          string `json:"path"`
	ContentType   string `json:"contentType"`
	Authorization string `json:"authorization"`
	Body          string `json:"body"` // base64
}

func newMediaEnv(t *testing.T) *mediaEnv {
	e := &mediaEnv{urls: map[string]string{}, failPut: map[string]map[int]bool{}}
	e.reset()
	e.storage = httptest.NewServer(http.HandlerFunc(e.serveStorage))
	t.Cleanup(e.storage.Close)
	e.platform = httptest.NewServer(http.HandlerFunc(e.servePlatform))
	t.Cleanup(e.platform.Close)
	return e
}

func (e *mediaEnv) reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counters = map[string]int{}
	e.uploads = map[string][]any{}
	e.puts = map[string][]putRecord{}
	e.auth = nil
}

func (e *mediaEnv) servePlatform(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/files/upload-urls" {
		http.Error(w, `{"error":"no route"}`, http.StatusNotFound)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	var body struct {
		SessionID string `json:"sessionId"`
		Files     []struct {
			Filename string `json:"filename"`
		} `json:"files"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		http.Error(w, `{"error":"bad body"}`, http.StatusBadRequest)
		return
	}
	var generic any
	_ = json.Unmarshal(raw, &generic)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.auth = append(e.auth, r.Header.Get("Authorization"))
	sess := body.SessionID
	e.uploads[sess] = append(e.uploads[sess], generic)
	w.Header().Set("Content-Type", "application/json")
	n := len(body.Files)
	switch e.urls[sess] {
	case "error":
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"error":"storage unavailable"}`)
		return
	case "short":
		n--
	}
	type info struct {
		ID          string `json:"id"`
		UploadURL   string `json:"uploadUrl"`
		DownloadURL string `json:"downloadUrl"`
	}
	out := struct {
		Files []info `json:"files"`
	}{Files: []info{}}
	for range n {
		k := e.counters[sess]
		e.counters[sess]++
		dir := "put"
		if e.failPut[sess][k] {
			dir = "fail"
		}
		out.Files = append(out.Files, info{
			ID:          fmt.Sprintf("file-%s-%d", sess, k),
			UploadURL:   fmt.Sprintf("%s/%s/%s/%d?X-Amz-Signature=abc", e.storage.URL, dir, sess, k),
			DownloadURL: fmt.Sprintf("https://cdn.example/%s/%d", sess, k),
		})
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (e *mediaEnv) serveStorage(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if r.Method != http.MethodPut || len(parts) != 3 {
		http.Error(w, "no", http.StatusMethodNotAllowed)
		return
	}
	e.mu.Lock()
	e.puts[parts[1]] = append(e.puts[parts[1]], putRecord{
		Path: "/" + parts[0] + "/" + parts[2], ContentType: r.Header.Get("Content-Type"),
		Authorization: r.Header.Get("Authorization"), Body: b64(body),
	})
	e.mu.Unlock()
	if parts[0] == "fail" {
		http.Error(w, "<Error>AccessDenied</Error>", http.StatusForbidden)
	}
}

func (e *mediaEnv) client(t *testing.T) *Client {
	c, err := NewClient(ClientOptions{BaseURL: e.platform.URL, APIKey: testKey, MaxRetries: -1})
	require.NoError(t, err)
	return c
}

// mediaObservation is what one run of a normalizer did, names of
// generated files made comparable.
type mediaObservation struct {
	ToolResults    any         `json:"toolResults,omitempty"`
	Error          string      `json:"error,omitempty"`
	UploadRequests []any       `json:"uploadRequests"`
	Puts           []putRecord `json:"puts"`
}

var generatedName = regexp.MustCompile(`\b(image|audio|blob)-[0-9A-Za-z-]+\.([a-z0-9]+)\b`)

// comparable decodes JSON with generated file names replaced.
func comparableJSON(t *testing.T, b []byte) any {
	var v any
	require.NoError(t, json.Unmarshal(generatedName.ReplaceAll(b, []byte("$1-ID.$2")), &v))
	return v
}

func (e *mediaEnv) observe(t *testing.T, sess string, toolResults []byte, errText string) mediaObservation {
	e.mu.Lock()
	defer e.mu.Unlock()
	obs := mediaObservation{Error: errText, UploadRequests: []any{}, Puts: []putRecord{}}
	if toolResults != nil {
		obs.ToolResults = comparableJSON(t, toolResults)
	}
	for _, u := range e.uploads[sess] {
		b, err := json.Marshal(u)
		require.NoError(t, err)
		obs.UploadRequests = append(obs.UploadRequests, comparableJSON(t, b))
	}
	obs.Puts = append(obs.Puts, e.puts[sess]...)
	sort.Slice(obs.Puts, func(i, j int) bool { return obs.Puts[i].Path < obs.Puts[j].Path })
	return obs
}

// mediaCase is one call of a normalizer. gap, when set, says why octavus-go
// answers otherwise than 6.4.0 on purpose.
type mediaCase struct {
	name    string
	fn      string // "media" | "outputFiles"
	results string // JSON array of tool results
	urls    string // "", "error", "short"
	failPut []int
	gap     string
}

const sniffGap = "the image sniffing of the source after 6.4.0 (2996b66), which 6.4.0 lacks"

func mediaCases() []mediaCase {
	img := func(b []byte, mime string) string {
		if mime == "" {
			return fmt.Sprintf(`{"type":"image","data":%q}`, b64(b))
		}
		return fmt.Sprintf(`{"type":"image","data":%q,"mimeType":%q}`, b64(b), mime)
	}
	of := func(name, path, mime string, b []byte) string {
		p := ""
		if path != "" {
			p = fmt.Sprintf(`,"path":%q`, path)
		}
		return fmt.Sprintf(`{"name":%q%s,"mediaType":%q,"size":%d,"contentBase64":%q}`, name, p, mime, len(b), b64(b))
	}
	text := `{"type":"text","text":"Screenshot taken"}`
	return []mediaCase{
		{name: "bare array with a png", fn: "media", results: `[{"toolCallId":"c1","toolName":"screenshot","result":[` + text + `,` + img(pngBytes, "image/png") + `]}]`},
		{name: "content wrapper keeps its other keys", fn: "media", results: `[{"toolCallId":"c1","toolName":"read_media_file","result":{"isError":false,"content":[` + img(jpegBytes, "image/jpeg") + `,{"type":"audio","data":"` + b64(mp3Bytes) + `","mimeType":"audio/mpeg"}],"structuredContent":{"n":1}}}]`},
		{name: "image without mimeType", fn: "media", results: `[{"toolCallId":"c1","result":[` + img(pngBytes, "") + `]}]`},
		{name: "blob without mimeType", fn: "media", results: `[{"toolCallId":"c1","result":[{"type":"blob","data":"` + b64(blobBytes) + `"}]}]`},
		{name: "audio wav and a pdf blob", fn: "media", results: `[{"toolCallId":"c1","result":[{"type":"audio","data":"` + b64(mp3Bytes) + `","mimeType":"audio/wav"},{"type":"blob","data":"` + b64(pdfBytes) + `","mimeType":"application/pdf"}]}]`},
		{name: "gif and webp and gif87", fn: "media", results: `[{"toolCallId":"c1","result":[` + img(gifBytes, "image/gif") + `,` + img(webpBytes, "image/webp") + `,` + img(gif87, "image/gif") + `]}]`},
		{name: "outputVariable result skipped", fn: "media", results: `[{"toolCallId":"c1","outputVariable":"SHOT","result":[` + img(pngBytes, "image/png") + `]}]`},
		{name: "results without media untouched", fn: "media", results: `[{"toolCallId":"c1","result":[` + text + `]},{"toolCallId":"c2","result":"plain"},{"toolCallId":"c3","result":{"content":"not an array"}},{"toolCallId":"c4","result":{"data":"x","type":"image"}},{"toolCallId":"c5","error":"failed"},{"toolCallId":"c6","result":[{"type":"image","data":1}]},{"toolCallId":"c7","result":[{"type":"video","data":"AAAA"}]},{"toolCallId":"c8","result":[{"Type":"image","data":"AAAA"},{"type":"image","Data":"AAAA"}]}]`},
		{name: "upload urls refused", fn: "media", urls: "error", results: `[{"toolCallId":"c1","result":[` + text + `,` + img(pngBytes, "image/png") + `,{"type":"audio","data":"` + b64(mp3Bytes) + `","mimeType":"audio/mpeg"}]}]`},
		{name: "second put refused", fn: "media", failPut: []int{1}, results: `[{"toolCallId":"c1","result":[` + img(pngBytes, "image/png") + `,` + img(jpegBytes, "image/jpeg") + `]}]`},
		{name: "fewer upload urls than parts", fn: "media", urls: "short", results: `[{"toolCallId":"c1","result":[` + img(pngBytes, "image/png") + `,` + img(gifBytes, "image/gif") + `]}]`},
		{name: "existing files kept", fn: "media", results: `[{"toolCallId":"c1","result":[` + img(pngBytes, "image/png") + `],"files":[{"id":"f0","mediaType":"text/plain","url":"https://cdn.example/f0","filename":"a.txt","size":3}]}]`},
		{name: "several results", fn: "media", results: `[{"toolCallId":"c1","result":[` + img(pngBytes, "image/png") + `]},{"toolCallId":"c2","result":{"content":[` + img(webpBytes, "image/webp") + `]}},{"toolCallId":"c3","result":{"ok":true}}]`},
		{name: "forgiving base64", fn: "media", results: `[{"toolCallId":"c1","result":[{"type":"image","mimeType":"image/png","data":"` + strings.TrimRight(b64(pngBytes[:8]), "=")[:4] + `\n ` + strings.TrimRight(b64(pngBytes[:8]), "=")[4:] + `"}]}]`},
		{name: "declared image that is html", fn: "media", gap: sniffGap, results: `[{"toolCallId":"c1","result":[` + img(htmlBytes, "image/png") + `]}]`},
		{name: "png labelled jpeg", fn: "media", gap: sniffGap, results: `[{"toolCallId":"c1","result":[` + img(pngBytes, "image/jpeg") + `]}]`},
		{name: "bmp image", fn: "media", gap: sniffGap, results: `[{"toolCallId":"c1","result":[` + img([]byte("BM\x36\x00\x00\x00bitmap"), "image/bmp") + `]}]`},
		{name: "media data not base64", fn: "media", gap: "the reference throws (atob) and fails the run; octavus-go reports that part as not uploaded", results: `[{"toolCallId":"c1","result":[` + img(pngBytes, "image/png") + `,{"type":"image","data":"not base64!","mimeType":"image/png"}]}]`},

		{name: "output files uploaded", fn: "outputFiles", results: `[{"toolCallId":"c1","toolName":"run-skill","result":{"exitCode":0,"outputFiles":[` + of("report.pdf", "/tmp/out/report.pdf", "application/pdf", pdfBytes) + `,` + of("chart.png", "", "image/png", pngBytes) + `],"stdout":"ok"}}]`},
		{name: "output files upload urls refused", fn: "outputFiles", urls: "error", results: `[{"toolCallId":"c1","result":{"outputFiles":[` + of("report.pdf", "/tmp/report.pdf", "application/pdf", pdfBytes) + `]}}]`},
		{name: "output file put refused", fn: "outputFiles", failPut: []int{0}, results: `[{"toolCallId":"c1","result":{"outputFiles":[` + of("a.bin", "", "application/octet-stream", blobBytes) + `,` + of("b.pdf", "/w/b.pdf", "application/pdf", pdfBytes) + `]}}]`},
		{name: "invalid output entries dropped", fn: "outputFiles", results: `[{"toolCallId":"c1","result":{"outputFiles":[{"name":"x"},` + of("ok.pdf", "", "application/pdf", pdfBytes) + `,{"name":"p","path":null,"mediaType":"text/plain","size":1,"contentBase64":"YQ=="},{"name":"s","mediaType":"text/plain","size":"1","contentBase64":"YQ=="},"str"]}}]`},
		{name: "only invalid output entries", fn: "outputFiles", results: `[{"toolCallId":"c1","result":{"outputFiles":[{"name":"x"}]}},{"toolCallId":"c2","result":{"outputFiles":[]}},{"toolCallId":"c3","result":[{"outputFiles":[]}]},{"toolCallId":"c4","result":{"outputFiles":{"name":"x"}}}]`},
		{name: "output files of outputVariable skipped", fn: "outputFiles", results: `[{"toolCallId":"c1","outputVariable":"OUT","result":{"outputFiles":[` + of("r.pdf", "", "application/pdf", pdfBytes) + `]}}]`},
		{name: "output files with existing files", fn: "outputFiles", results: `[{"toolCallId":"c1","files":[{"id":"f0","mediaType":"image/png","url":"https://cdn.example/f0"}],"result":{"outputFiles":[` + of("r.pdf", "", "application/pdf", pdfBytes) + `]}}]`},
		{name: "output file size as declared", fn: "outputFiles", results: `[{"toolCallId":"c1","result":{"outputFiles":[{"name":"n.txt","mediaType":"text/plain","size":999,"contentBase64":"aGVsbG8="}]}}]`},
		{name: "fewer upload urls than output files", fn: "outputFiles", urls: "short", gap: "the reference throws a TypeError (uploadResults[i] is undefined); octavus-go reports the file as not uploaded", results: `[{"toolCallId":"c1","result":{"outputFiles":[` + of("a.pdf", "", "application/pdf", pdfBytes) + `,` + of("b.pdf", "", "application/pdf", pdfBytes) + `]}}]`},
		{name: "output file content not base64", fn: "outputFiles", gap: "the reference throws (atob) and fails the run; octavus-go reports that file as not uploaded", results: `[{"toolCallId":"c1","result":{"outputFiles":[{"name":"a.txt","mediaType":"text/plain","size":1,"contentBase64":"%%%"},` + of("b.pdf", "", "application/pdf", pdfBytes) + `]}}]`},
	}
}

func (e *mediaEnv) configure(cases []mediaCase) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, c := range cases {
		sess := fmt.Sprintf("case-%d", i)
		e.urls[sess] = c.urls
		e.failPut[sess] = map[int]bool{}
		for _, k := range c.failPut {
			e.failPut[sess][k] = true
		}
	}
}

// runGo runs octavus-go's normalizer on each case.
func (e *mediaEnv) runGo(t *testing.T, cases []mediaCase) map[string]mediaObservation {
	e.reset()
	c := e.client(t)
	out := map[string]mediaObservation{}
	for i, mc := range cases {
		sess := fmt.Sprintf("case-%d", i)
		var results []ToolResult
		require.NoError(t, json.Unmarshal([]byte(mc.results), &results), mc.name)
		var err error
		if mc.fn == "media" {
			err = NormalizeToolResultMedia(t.Context(), c.Files, sess, results)
		} else {
			err = NormalizeToolResultOutputFiles(t.Context(), c.Files, sess, results)
		}
		require.NoError(t, err, mc.name)
		b, err := json.Marshal(results)
		require.NoError(t, err)
		out[mc.name] = e.observe(t, sess, b, "")
	}
	return out
}

// runOracle runs the 6.4.0 server SDK's normalizer on each case.
func (e *mediaEnv) runOracle(t *testing.T, dir string, cases []mediaCase) map[string]mediaObservation {
	e.reset()
	type jobCase struct {
		ID          string          `json:"id"`
		Fn          string          `json:"fn"`
		ToolResults json.RawMessage `json:"toolResults"`
	}
	job := struct {
		Oracle  string    `json:"oracle"`
		BaseURL string    `json:"baseUrl"`
		Cases   []jobCase `json:"cases"`
	}{Oracle: dir, BaseURL: e.platform.URL}
	for i, c := range cases {
		job.Cases = append(job.Cases, jobCase{fmt.Sprintf("case-%d", i), c.fn, json.RawMessage(c.results)})
	}
	in, err := json.Marshal(job)
	require.NoError(t, err)
	raw := runNode(t, 2*time.Minute, in, filepath.Join("testdata", "media", "oracle.mjs"))
	var byID map[string]struct {
		ToolResults json.RawMessage `json:"toolResults"`
		Error       string          `json:"error"`
	}
	require.NoError(t, json.Unmarshal(raw, &byID))
	out := map[string]mediaObservation{}
	for i, c := range cases {
		sess := fmt.Sprintf("case-%d", i)
		a, ok := byID[sess]
		require.True(t, ok, "no answer for %q", c.name)
		out[c.name] = e.observe(t, sess, a.ToolResults, a.Error)
	}
	return out
}

const mediaGolden = "testdata/media/oracle-6.4.0.json"

// TestMediaOracle runs the 6.4.0 normalizeToolResultMedia and
// normalizeToolResultOutputFiles (recorded in testdata/media, live when
// node and the oracle are here) and octavus-go's on the same tool results
// against the same platform and storage, and compares the results, the
// upload-urls bodies and the PUTs.
func TestMediaOracle(t *testing.T) {
	cases := mediaCases()
	e := newMediaEnv(t)
	e.configure(cases)
	golden := map[string]mediaObservation{}
	if b, err := os.ReadFile(mediaGolden); err == nil {
		require.NoError(t, json.Unmarshal(b, &golden))
	} else if os.Getenv("OCTAVUS_UPDATE_GOLDEN") == "" {
		t.Fatalf("%v: regenerate it with OCTAVUS_UPDATE_GOLDEN=1 go test -run TestMediaOracle .", err)
	}

	t.Run("live 6.4.0 server SDK", func(t *testing.T) {
		dir := requireOracle(t, "checking against "+mediaGolden+" only")
		live := e.runOracle(t, dir, cases)
		if os.Getenv("OCTAVUS_UPDATE_GOLDEN") != "" {
			b, err := json.MarshalIndent(live, "", "  ")
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(mediaGolden, append(b, '\n'), 0o644))
			golden = live
			return
		}
		// Round-trip the live answers through JSON, as the golden was.
		b, err := json.Marshal(live)
		require.NoError(t, err)
		var again map[string]mediaObservation
		require.NoError(t, json.Unmarshal(b, &again))
		require.Equal(t, golden, again, "%s is stale: regenerate it with OCTAVUS_UPDATE_GOLDEN=1 go test -run TestMediaOracle .", mediaGolden)
	})

	require.Len(t, golden, len(cases), "%s does not answer every case: regenerate it", mediaGolden)
	got := e.runGo(t, cases)
	b, err := json.Marshal(got)
	require.NoError(t, err)
	var gotRT map[string]mediaObservation
	require.NoError(t, json.Unmarshal(b, &gotRT))
	for _, mc := range cases {
		t.Run(mc.name, func(t *testing.T) {
			want, ok := golden[mc.name]
			require.True(t, ok, "no recorded answer: regenerate %s", mediaGolden)
			if mc.gap != "" {
				require.NotEqual(t, want, gotRT[mc.name], "known gap closed (%s)", mc.gap)
				return
			}
			require.Equal(t, want, gotRT[mc.name])
		})
	}
	// The storage never saw the API key; the platform did.
	for _, obs := range got {
		for _, p := range obs.Puts {
			require.Empty(t, p.Authorization)
		}
	}
}

// normalizeOne runs fn on one tool result against a fresh env and returns
// the result's JSON and the env.
func normalizeOne(t *testing.T, fn func(context.Context, *FilesAPI, string, []ToolResult) error, result string) (map[string]any, *mediaEnv) {
	e := newMediaEnv(t)
	var results []ToolResult
	require.NoError(t, json.Unmarshal([]byte(result), &results))
	require.NoError(t, fn(t.Context(), e.client(t).Files, "sess_1", results))
	b, err := json.Marshal(results[0])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m, e
}

func TestMediaDeclaredImageNotAnImage(t *testing.T) {
	// HEAD's normalize-media.ts: uploaded and linked with
	// NOT_A_VALID_IMAGE_NOTE, never added to files, its declared type kept.
	m, e := normalizeOne(t, NormalizeToolResultMedia, `[{"toolCallId":"c1","result":[{"type":"image","data":"`+b64(htmlBytes)+`","mimeType":"image/png"}]}]`)
	require.Equal(t, []any{map[string]any{
		"type": "image", "mediaType": "image/png", "size": float64(len(htmlBytes)),
		"url": "https://cdn.example/sess_1/0", "error": NotAValidImageNote,
	}}, m["result"])
	require.Equal(t, []any{}, m["files"])
	require.Len(t, e.puts["sess_1"], 1)
	require.Equal(t, b64(htmlBytes), e.puts["sess_1"][0].Body)
	require.Equal(t, "image/png", e.puts["sess_1"][0].ContentType)
	req := e.uploads["sess_1"][0].(map[string]any)["files"].([]any)[0].(map[string]any)
	require.Regexp(t, `^image-[0-9a-f-]{36}\.png$`, req["filename"])
}

func TestMediaImageSniffedTypeWins(t *testing.T) {
	// A valid image with a wrong label is corrected to its true type.
	m, e := normalizeOne(t, NormalizeToolResultMedia, `[{"toolCallId":"c1","result":[{"type":"image","data":"`+b64(pngBytes)+`","mimeType":"image/jpeg"}]}]`)
	require.Equal(t, "image/png", m["result"].([]any)[0].(map[string]any)["mediaType"])
	files := m["files"].([]any)
	require.Len(t, files, 1)
	f := files[0].(map[string]any)
	require.Equal(t, "image/png", f["mediaType"])
	require.Equal(t, "file-sess_1-0", f["id"])
	require.Regexp(t, `^image-[0-9a-f-]{36}\.png$`, f["filename"])
	require.Equal(t, "image/png", e.puts["sess_1"][0].ContentType)
}

func TestMediaSniffOnlyImages(t *testing.T) {
	// Audio and blobs are not sniffed: a PNG sent as audio stays audio.
	m, _ := normalizeOne(t, NormalizeToolResultMedia, `[{"toolCallId":"c1","result":[{"type":"audio","data":"`+b64(pngBytes)+`","mimeType":"audio/ogg"}]}]`)
	require.Equal(t, map[string]any{"type": "audio", "mediaType": "audio/ogg", "size": float64(len(pngBytes)), "url": "https://cdn.example/sess_1/0"},
		m["result"].([]any)[0])
	require.Equal(t, []any{}, m["files"])
}

func TestSniffImageMediaType(t *testing.T) {
	for _, tc := range []struct {
		b    []byte
		want string
	}{
		{pngBytes, "image/png"}, {pngBytes[:8], "image/png"}, {pngBytes[:7], ""},
		{jpegBytes, "image/jpeg"}, {[]byte{0xff, 0xd8, 0xff}, "image/jpeg"}, {[]byte{0xff, 0xd8}, ""},
		{gifBytes, "image/gif"}, {gif87, "image/gif"}, {[]byte("GIF88a"), ""}, {[]byte("GIF89b"), ""},
		{webpBytes, "image/webp"}, {[]byte("RIFF\x00\x00\x00\x00WAVE"), ""}, {[]byte("RIFF\x00\x00\x00\x00WEB"), ""},
		{htmlBytes, ""}, {[]byte("BM6\x00"), ""}, {[]byte("<svg"), ""}, {nil, ""},
	} {
		require.Equal(t, tc.want, SniffImageMediaType(tc.b), "%q", tc.b)
	}
}

func TestDecodeBase64LikeAtob(t *testing.T) {
	// The forgiving base64 of atob: whitespace ignored, padding optional,
	// "=" only as padding, no URL alphabet, length%4 == 1 refused.
	for in, want := range map[string]string{
		"aGVsbG8=": "hello", "aGVsbG8": "hello", "aGVs\nbG8=": "hello", " aGVs bG8 ": "hello",
		"YQ==": "a", "YQ": "a", "YR==": "a", "": "",
	} {
		got, err := decodeBase64(in)
		require.NoError(t, err, in)
		require.Equal(t, want, string(got), in)
	}
	for _, in := range []string{"YQ=", "a", "aGVsbG8==", "a-_b", "YQ==YQ==", "%%%"} {
		_, err := decodeBase64(in)
		require.Error(t, err, in)
	}
}

func TestMediaPartTooLarge(t *testing.T) {
	// Over the cap a part is not decoded nor uploaded; its data is dropped.
	defer func(n int64) { maxMediaPartBytes = n }(maxMediaPartBytes)
	maxMediaPartBytes = 1 << 10
	big := strings.Repeat("A", 1<<10/3*4+8)
	ok := strings.Repeat("A", 1<<10/3*4)
	m0, _ := normalizeOne(t, NormalizeToolResultMedia, `[{"toolCallId":"c1","result":[{"type":"blob","data":"`+ok+`"}]}]`)
	require.Equal(t, "https://cdn.example/sess_1/0", m0["result"].([]any)[0].(map[string]any)["url"], "at the cap: uploaded")
	m, e := normalizeOne(t, NormalizeToolResultMedia, `[{"toolCallId":"c1","result":[{"type":"blob","data":"`+big+`"}]}]`)
	require.Equal(t, []any{map[string]any{"type": "blob", "mediaType": "application/octet-stream", "size": float64(len(big) * 3 / 4), "error": "Upload failed"}}, m["result"])
	require.Empty(t, e.uploads)
	require.Empty(t, e.puts)
}

func TestMediaPutNeverCarriesAPIKey(t *testing.T) {
	// Even when the storage is on the platform's own host.
	var mu sync.Mutex
	var putAuth, postAuth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodPut {
			putAuth = append(putAuth, r.Header.Get("Authorization"))
			return
		}
		postAuth = append(postAuth, r.Header.Get("Authorization"))
		base := "http://" + r.Host
		_, _ = fmt.Fprintf(w, `{"files":[{"id":"f1","uploadUrl":"%s/put/1","downloadUrl":"%s/down/1"},{"id":"f2","uploadUrl":"%s/put/2","downloadUrl":"%s/down/2"}]}`, base, base, base, base)
	}))
	defer srv.Close()
	c, err := NewClient(ClientOptions{BaseURL: srv.URL, APIKey: testKey, MaxRetries: -1})
	require.NoError(t, err)
	results := []ToolResult{
		{ToolCallID: "c1", Result: json.RawMessage(`[{"type":"image","data":"` + b64(pngBytes) + `"}]`)},
		{ToolCallID: "c2", Result: json.RawMessage(`{"outputFiles":[{"name":"a.pdf","mediaType":"application/pdf","size":3,"contentBase64":"YWJj"}]}`)},
	}
	require.NoError(t, NormalizeToolResultMedia(t.Context(), c.Files, "s", results))
	require.NoError(t, NormalizeToolResultOutputFiles(t.Context(), c.Files, "s", results))
	require.Equal(t, []string{"", ""}, putAuth)
	require.Equal(t, []string{"Bearer " + testKey, "Bearer " + testKey}, postAuth)
}

func TestMediaGoValueResult(t *testing.T) {
	// A handler's Go value (not yet JSON) is handled too; the result
	// becomes JSON.
	e := newMediaEnv(t)
	results := []ToolResult{{ToolCallID: "c1", Result: map[string]any{
		"content": []map[string]any{{"type": "image", "data": b64(pngBytes), "mimeType": "image/png"}},
		"note":    "x",
	}}}
	require.NoError(t, NormalizeToolResultMedia(t.Context(), e.client(t).Files, "s", results))
	raw, ok := results[0].Result.(json.RawMessage)
	require.True(t, ok)
	require.JSONEq(t, `{"content":[{"type":"image","mediaType":"image/png","size":`+fmt.Sprint(len(pngBytes))+`,"url":"https://cdn.example/s/0"}],"note":"x"}`, string(raw))
	require.Len(t, results[0].Files, 1)
}

func TestMediaKeepsKeyOrderAndExactValues(t *testing.T) {
	m := `[{"toolCallId":"c1","result":{"z":1.0000000000000001234,"content":[{"type":"text","text":"<b>"},{"type":"image","data":"` + b64(pngBytes) + `"}],"a":{"y":1,"x":2}}}]`
	e := newMediaEnv(t)
	var results []ToolResult
	require.NoError(t, json.Unmarshal([]byte(m), &results))
	require.NoError(t, NormalizeToolResultMedia(t.Context(), e.client(t).Files, "s", results))
	require.Equal(t, `{"z":1.0000000000000001234,"content":[{"type":"text","text":"<b>"},{"type":"image","mediaType":"image/png","size":`+fmt.Sprint(len(pngBytes))+`,"url":"https://cdn.example/s/0"}],"a":{"y":1,"x":2}}`,
		string(results[0].Result.(json.RawMessage)))
}

func TestMediaContextCancelled(t *testing.T) {
	e := newMediaEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, fn := range []func(context.Context, *FilesAPI, string, []ToolResult) error{NormalizeToolResultMedia, NormalizeToolResultOutputFiles} {
		results := []ToolResult{{ToolCallID: "c1", Result: json.RawMessage(`{"content":[{"type":"image","data":"AAAA"}],"outputFiles":[{"name":"a","mediaType":"text/plain","size":3,"contentBase64":"YWJj"}]}`)}}
		err := fn(ctx, e.client(t).Files, "s", results)
		require.ErrorIs(t, err, context.Canceled)
	}
}

func TestMediaCancelDuringPut(t *testing.T) {
	// A PUT that hangs ends when ctx is cancelled; no goroutine is left.
	started := make(chan struct{})
	release := make(chan struct{})
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer storage.Close()
	defer close(release)
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprintf(w, `{"files":[{"id":"f1","uploadUrl":"%s/p","downloadUrl":"%s/d"}]}`, storage.URL, storage.URL)
	}))
	defer platform.Close()
	c, err := NewClient(ClientOptions{BaseURL: platform.URL, MaxRetries: -1})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-started
		cancel()
	}()
	results := []ToolResult{{ToolCallID: "c1", Result: json.RawMessage(`[{"type":"blob","data":"AAAA"}]`)}}
	err = NormalizeToolResultMedia(ctx, c.Files, "s", results)
	require.ErrorIs(t, err, context.Canceled)
}

func TestMediaNilFiles(t *testing.T) {
	require.ErrorContains(t, NormalizeToolResultMedia(t.Context(), nil, "s", nil), "no FilesAPI")
	require.ErrorContains(t, NormalizeToolResultOutputFiles(t.Context(), nil, "s", nil), "no FilesAPI")
}

func TestExtensionForMediaType(t *testing.T) {
	// C/media-tool-result.ts MEDIA_TYPE_EXTENSIONS, "bin" otherwise.
	for mt, ext := range map[string]string{
		"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif", "image/svg+xml": "svg",
		"image/bmp": "bmp", "audio/mpeg": "mp3", "audio/wav": "wav", "audio/ogg": "ogg", "audio/flac": "flac",
		"video/mp4": "mp4", "video/webm": "webm", "video/quicktime": "mov", "application/pdf": "pdf",
		"application/zip": "zip", "application/octet-stream": "bin", "text/plain": "bin", "IMAGE/PNG": "bin",
	} {
		require.Equal(t, ext, extensionForMediaType(mt), mt)
	}
}

func TestMediaBadBase64PartNotUploaded(t *testing.T) {
	// Where the reference's atob throws, the part is reported as not
	// uploaded (its size is base64ByteLength's estimate) and the others go on.
	m, e := normalizeOne(t, NormalizeToolResultMedia, `[{"toolCallId":"c1","result":[{"type":"image","data":"`+b64(pngBytes)+`","mimeType":"image/png"},{"type":"image","data":"not base64!","mimeType":"image/png"}]}]`)
	require.Equal(t, []any{
		map[string]any{"type": "image", "mediaType": "image/png", "size": float64(len(pngBytes)), "url": "https://cdn.example/sess_1/0"},
		map[string]any{"type": "image", "mediaType": "image/png", "size": float64(len("not base64!") * 3 / 4), "error": "Upload failed"},
	}, m["result"])
	require.Len(t, m["files"], 1)
	require.Len(t, e.uploads["sess_1"][0].(map[string]any)["files"], 1)
}

func TestMediaUnsupportedImageFormat(t *testing.T) {
	// BMP is an image, but not one vision models take: linked with the note.
	bmp := []byte("BM\x36\x00\x00\x00bitmap")
	m, _ := normalizeOne(t, NormalizeToolResultMedia, `[{"toolCallId":"c1","result":[{"type":"image","data":"`+b64(bmp)+`","mimeType":"image/bmp"}]}]`)
	require.Equal(t, []any{map[string]any{"type": "image", "mediaType": "image/bmp", "size": float64(len(bmp)), "url": "https://cdn.example/sess_1/0", "error": NotAValidImageNote}}, m["result"])
	require.Equal(t, []any{}, m["files"])
}

func TestOutputFilesBadBase64AndShortAnswer(t *testing.T) {
	// Bad content: that file is not uploaded, the others are.
	m, e := normalizeOne(t, NormalizeToolResultOutputFiles, `[{"toolCallId":"c1","result":{"outputFiles":[{"name":"a.txt","mediaType":"text/plain","size":1,"contentBase64":"%%%"},{"name":"b.txt","path":"/b.txt","mediaType":"text/plain","size":3,"contentBase64":"YWJj"}]}}]`)
	require.Equal(t, map[string]any{"outputFiles": []any{
		map[string]any{"name": "a.txt", "mediaType": "text/plain", "size": float64(1), "error": "Upload failed"},
		map[string]any{"name": "b.txt", "path": "/b.txt", "mediaType": "text/plain", "size": float64(3), "url": "https://cdn.example/sess_1/0"},
	}}, m["result"])
	require.Len(t, m["files"], 1)
	require.Len(t, e.puts["sess_1"], 1)

	// Fewer upload URLs than files: the files without one are not uploaded.
	e = newMediaEnv(t)
	e.urls["short"] = "short"
	results := []ToolResult{{ToolCallID: "c1", Result: json.RawMessage(`{"outputFiles":[{"name":"a","mediaType":"text/plain","size":3,"contentBase64":"YWJj"},{"name":"b","mediaType":"text/plain","size":3,"contentBase64":"YWJj"}]}`)}}
	require.NoError(t, NormalizeToolResultOutputFiles(t.Context(), e.client(t).Files, "short", results))
	require.JSONEq(t, `{"outputFiles":[{"name":"a","mediaType":"text/plain","size":3,"url":"https://cdn.example/short/0"},{"name":"b","mediaType":"text/plain","size":3,"error":"Upload failed"}]}`,
		string(results[0].Result.(json.RawMessage)))
	require.Len(t, results[0].Files, 1)
}

func TestOutputFileTooLarge(t *testing.T) {
	defer func(n int64) { maxMediaPartBytes = n }(maxMediaPartBytes)
	maxMediaPartBytes = 3
	m, e := normalizeOne(t, NormalizeToolResultOutputFiles, `[{"toolCallId":"c1","result":{"outputFiles":[{"name":"a","mediaType":"text/plain","size":4,"contentBase64":"YWJjZA=="}]}}]`)
	require.Equal(t, map[string]any{"outputFiles": []any{map[string]any{"name": "a", "mediaType": "text/plain", "size": float64(4), "error": "Upload failed"}}}, m["result"])
	require.Empty(t, e.puts)
}

func TestMediaFilesAppendLeavesCallerArray(t *testing.T) {
	e := newMediaEnv(t)
	backing := make([]FileReference, 1, 4)
	backing[0] = FileReference{ID: "f0", MediaType: "text/plain", URL: "https://cdn.example/f0"}
	results := []ToolResult{{ToolCallID: "c1", Files: backing[:1], Result: json.RawMessage(`[{"type":"image","data":"` + b64(pngBytes) + `"}]`)}}
	require.NoError(t, NormalizeToolResultMedia(t.Context(), e.client(t).Files, "s", results))
	require.Len(t, results[0].Files, 2)
	require.Equal(t, FileReference{}, backing[:2][1], "the caller's array was written")
}
