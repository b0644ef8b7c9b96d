package octavus

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"
)

// NotAValidImageNote is the error note of a tool-result part declared an
// image whose bytes are not a PNG, JPEG, GIF or WebP image (the
// reference's NOT_A_VALID_IMAGE_NOTE, after 6.4.0): such a part is
// uploaded and linked, but not shown to the model as an image.
const NotAValidImageNote = "This file was reported as an image but its contents are not a valid or " +
	"supported image, so it was provided as a download link only and not shown to " +
	"the model as an image. The download likely returned non-image content (for " +
	"example an HTML error or sign-in page) or a corrupt/unsupported file - verify " +
	"the source and re-fetch if you need the image."

// uploadFailed is the error of a part or output file that was not uploaded.
const uploadFailed = "Upload failed"

// maxMediaPartBytes bounds one decoded part or output file: a larger one is
// not decoded nor uploaded, it gets the "Upload failed" error. A variable
// so that tests can lower it.
var maxMediaPartBytes int64 = 64 << 20

// maxConcurrentPuts bounds the uploads running at once.
const maxConcurrentPuts = 4

// SniffImageMediaType returns the media type of an image from its first
// bytes ("magic numbers"), limited to what vision models accept: PNG,
// JPEG, GIF and WebP. It returns "" for anything else: bytes that are no
// image (an HTML error page, a PDF, text) or an image format providers
// refuse (BMP, TIFF, HEIC, SVG).
func SniffImageMediaType(b []byte) string {
	switch {
	case len(b) >= 8 && bytes.Equal(b[:8], []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}):
		return "image/png"
	case len(b) >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff:
		return "image/jpeg"
	case len(b) >= 6 && string(b[:4]) == "GIF8" && (b[4] == '7' || b[4] == '9') && b[5] == 'a':
		return "image/gif"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "image/webp"
	}
	return ""
}

// mediaTypeExtensions are the file extensions of the reference's
// extensionForMediaType; any other type is "bin".
var mediaTypeExtensions = map[string]string{
	"image/png":       "png",
	"image/jpeg":      "jpg",
	"image/webp":      "webp",
	"image/gif":       "gif",
	"image/svg+xml":   "svg",
	"image/bmp":       "bmp",
	"audio/mpeg":      "mp3",
	"audio/wav":       "wav",
	"audio/ogg":       "ogg",
	"audio/flac":      "flac",
	"video/mp4":       "mp4",
	"video/webm":      "webm",
	"video/quicktime": "mov",
	"application/pdf": "pdf",
	"application/zip": "zip",
}

func extensionForMediaType(mediaType string) string {
	if ext, ok := mediaTypeExtensions[mediaType]; ok {
		return ext
	}
	return "bin"
}

// base64ByteLength is the reference's approximate decoded length of a
// base64 text, used for parts that are not decoded.
func base64ByteLength(data string) int64 {
	return int64(len(data)) * 3 / 4
}

// decodeBase64 decodes s as atob does (the "forgiving base64" of the web
// platform): ASCII whitespace is ignored, padding is optional, the
// alphabet is the standard one. Parts longer than maxMediaPartBytes once
// decoded are refused before decoding.
func decodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, " \t\n\f\r") {
		s = strings.Map(func(r rune) rune {
			switch r {
			case ' ', '\t', '\n', '\f', '\r':
				return -1
			}
			return r
		}, s)
	}
	if len(s)%4 == 0 {
		s = strings.TrimSuffix(s, "=")
		s = strings.TrimSuffix(s, "=")
	}
	if int64(len(s))*3/4 > maxMediaPartBytes {
		return nil, errors.New("too large")
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// resultJSON returns the JSON of a tool result's value: the bytes of a
// json.RawMessage (what the tool loop hands OnToolResults), else the
// value encoded. ok is false for no result or one that cannot be encoded
// (left for the tool loop to report).
func resultJSON(v any) (json.RawMessage, bool) {
	switch r := v.(type) {
	case nil:
		return nil, false
	case json.RawMessage:
		return r, json.Valid(r)
	case *json.RawMessage:
		if r == nil {
			return nil, false
		}
		return *r, json.Valid(*r)
	}
	b, err := marshalJSON(v)
	if err != nil {
		return nil, false
	}
	return b, true
}

// jsonMember is one key of a JSON object, its value kept as received.
type jsonMember struct {
	key string
	val json.RawMessage
}

// decodeJSONMembers decodes a JSON object into its members in order. A key
// given twice keeps its first place and its last value, as JSON.parse.
func decodeJSONMembers(data []byte) ([]jsonMember, bool) {
	if jsonFirstByte(data) != '{' {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return nil, false
	}
	var out []jsonMember
	seen := map[string]int{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, ok := tok.(string)
		if !ok {
			return nil, false
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, false
		}
		if i, dup := seen[key]; dup {
			out[i].val = val
			continue
		}
		seen[key] = len(out)
		out = append(out, jsonMember{key, val})
	}
	return out, true
}

// encodeJSONMembers writes members back as a JSON object.
func encodeJSONMembers(members []jsonMember) (json.RawMessage, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := marshalJSON(m.key)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(m.val)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func jsonFirstByte(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c
	}
	return 0
}

func decodeJSONArray(data []byte) ([]json.RawMessage, bool) {
	if jsonFirstByte(data) != '[' {
		return nil, false
	}
	var out []json.RawMessage
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, false
	}
	return out, true
}

// inlineMediaPart is a content part {type: image|audio|blob, data,
// mimeType?} of a tool result.
type inlineMediaPart struct {
	kind     string
	data     string
	mimeType string
}

// asInlineMediaPart reads raw as an inline media part: an object whose
// type is image, audio or blob and whose data is a string. Keys match
// exactly, as in JavaScript.
func asInlineMediaPart(raw json.RawMessage) (inlineMediaPart, bool) {
	members, ok := decodeJSONMembers(raw)
	if !ok {
		return inlineMediaPart{}, false
	}
	var p inlineMediaPart
	var haveData bool
	for _, m := range members {
		switch m.key {
		case "type":
			if unmarshalJSONString(m.val, &p.kind) != nil {
				return inlineMediaPart{}, false
			}
		case "data":
			if unmarshalJSONString(m.val, &p.data) != nil {
				return inlineMediaPart{}, false
			}
			haveData = true
		case "mimeType":
			// Only a string names the type (a non-string is ignored).
			_ = unmarshalJSONString(m.val, &p.mimeType)
		}
	}
	if !haveData || (p.kind != "image" && p.kind != "audio" && p.kind != "blob") {
		return inlineMediaPart{}, false
	}
	return p, true
}

// mediaType is the part's media type: its mimeType, else image/png for an
// image and application/octet-stream for the rest (inlineMediaType).
func (p inlineMediaPart) mediaType() string {
	switch {
	case p.mimeType != "":
		return p.mimeType
	case p.kind == "image":
		return "image/png"
	}
	return "application/octet-stream"
}

// mediaLocation is where a result holds its content parts, and how to put
// replacements back (findInlineMediaParts).
type mediaLocation struct {
	parts   []json.RawMessage
	members []jsonMember // the wrapper object; nil for a bare array
	at      int          // index of "content" in members
}

func (l *mediaLocation) rebuild(parts []json.RawMessage) (json.RawMessage, error) {
	arr, err := marshalJSON(parts)
	if err != nil {
		return nil, err
	}
	if l.members == nil {
		return arr, nil
	}
	members := append([]jsonMember(nil), l.members...)
	members[l.at].val = arr
	return encodeJSONMembers(members)
}

// findInlineMedia locates the inline media parts of a result: a bare array
// of parts or an object whose content is one. ok is false when no part is
// inline media.
func findInlineMedia(result json.RawMessage) (*mediaLocation, bool) {
	hasMedia := func(parts []json.RawMessage) bool {
		for _, p := range parts {
			if _, ok := asInlineMediaPart(p); ok {
				return true
			}
		}
		return false
	}
	if parts, ok := decodeJSONArray(result); ok {
		if hasMedia(parts) {
			return &mediaLocation{parts: parts}, true
		}
		return nil, false
	}
	members, ok := decodeJSONMembers(result)
	if !ok {
		return nil, false
	}
	for i, m := range members {
		if m.key != "content" {
			continue
		}
		if parts, ok := decodeJSONArray(m.val); ok && hasMedia(parts) {
			return &mediaLocation{parts: parts, members: members, at: i}, true
		}
	}
	return nil, false
}

// mediaUpload is one file to PUT.
type mediaUpload struct {
	req  FileUploadRequest
	body []byte
	info *FileUploadInfo // set once the upload URLs are known
	ok   bool            // the PUT succeeded
}

// uploadMediaFiles gets upload URLs for ups and PUTs each body. An upload whose URL
// is missing or whose PUT fails stays !ok. got is false when the upload
// URLs could not be had. It returns an error only when ctx ends.
func uploadMediaFiles(ctx context.Context, files *FilesAPI, sessionID string, ups []*mediaUpload) (got bool, err error) {
	if len(ups) == 0 {
		return true, nil
	}
	reqs := make([]FileUploadRequest, len(ups))
	for i, u := range ups {
		reqs[i] = u.req
	}
	res, err := files.GetUploadURLs(ctx, sessionID, reqs)
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		files.c.log.Debug("octavus: getting upload URLs for tool result files failed", "error", err)
		return false, nil
	}
	sem := make(chan struct{}, maxConcurrentPuts)
	var wg sync.WaitGroup
	for i, u := range ups {
		if i >= len(res.Files) {
			break
		}
		u.info = &res.Files[i]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			u.ok = putPresigned(ctx, files.c.hc, u.info.UploadURL, u.req.MediaType, u.body)
			if !u.ok {
				files.c.log.Debug("octavus: uploading a tool result file failed", "filename", u.req.Filename)
			}
		}()
	}
	wg.Wait()
	return true, ctx.Err()
}

// putPresigned PUTs body to a presigned URL with its Content-Type and nothing
// else: never the API key, which the storage must not see.
func putPresigned(ctx context.Context, hc *http.Client, uploadURL, mediaType string, body []byte) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, uploadURL, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", mediaType)
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode <= 299
}

func checkNormalizeArgs(name string, files *FilesAPI) error {
	if files == nil || files.c == nil {
		return fmt.Errorf("octavus: %s: no FilesAPI (use Client.Files)", name)
	}
	return nil
}

// mediaSummary replaces an inline media part once handled.
type mediaSummary struct {
	Type      string `json:"type"`
	MediaType string `json:"mediaType"`
	Size      int64  `json:"size"`
	URL       string `json:"url,omitempty"`
	Error     string `json:"error,omitempty"`
}

// NormalizeToolResultMedia uploads the inline media of tool results and
// puts links in their place, as the reference's normalizeToolResultMedia:
// a screenshot's megabytes of base64 never reach the model's context. Call
// it from AttachOptions.OnToolResults (the results then go on with the
// links, to the browser's tool-output events and to the platform).
//
// A result (not one captured in an outputVariable) holds inline media when
// it is an array of content parts, or an object whose "content" is one,
// and a part is {"type": "image"|"audio"|"blob", "data": <base64>,
// "mimeType"?}. The parts are uploaded to session sessionID through
// files.GetUploadURLs and a PUT to each presigned URL, which carries only
// the Content-Type, never the API key. Each part becomes {type, mediaType,
// size, url}, or {type, mediaType, size, error: "Upload failed"} when its
// upload failed. Images are also added to the result's Files, so the model
// sees them. An image whose bytes are not PNG, JPEG, GIF or WebP (see
// SniffImageMediaType; a valid image keeps its sniffed type) is uploaded
// but gets the error NotAValidImageNote and stays out of Files, as the
// reference does since 6.4.0. Files are named <kind>-<uuid>.<extension>.
//
// A result changed is a json.RawMessage afterwards; the rest of the
// result is kept as it was, key order included. A part whose data is not
// base64, or is over 64 MiB decoded, is not uploaded: it gets the "Upload
// failed" error (the reference throws on bad base64, failing the run). At
// most 4 uploads run at once. The error is nil unless ctx ends (or files
// is nil): a failed upload is reported in the result, to the model.
func NormalizeToolResultMedia(ctx context.Context, files *FilesAPI, sessionID string, results []ToolResult) error {
	if err := checkNormalizeArgs("NormalizeToolResultMedia", files); err != nil {
		return err
	}
	for ri := range results {
		tr := &results[ri]
		if tr.OutputVariable != "" {
			continue
		}
		raw, ok := resultJSON(tr.Result)
		if !ok {
			continue
		}
		loc, ok := findInlineMedia(raw)
		if !ok {
			continue
		}
		type item struct {
			index   int
			part    inlineMediaPart
			up      *mediaUpload // nil when the part could not be decoded
			asImage bool
		}
		var items []item
		var ups []*mediaUpload
		for i, raw := range loc.parts {
			part, ok := asInlineMediaPart(raw)
			if !ok {
				continue
			}
			it := item{index: i, part: part}
			if body, err := decodeBase64(part.data); err == nil {
				sniffed := ""
				if part.kind == "image" {
					sniffed = SniffImageMediaType(body)
				}
				mt := sniffed
				if mt == "" {
					mt = part.mediaType()
				}
				it.asImage = sniffed != ""
				it.up = &mediaUpload{body: body, req: FileUploadRequest{
					Filename:  part.kind + "-" + uuid.NewString() + "." + extensionForMediaType(mt),
					MediaType: mt,
					Size:      int64(len(body)),
				}}
				ups = append(ups, it.up)
			}
			items = append(items, it)
		}
		if _, err := uploadMediaFiles(ctx, files, sessionID, ups); err != nil {
			return fmt.Errorf("octavus: normalizing tool result media: %w", err)
		}
		parts := append([]json.RawMessage(nil), loc.parts...)
		// Files is appended to without touching the caller's backing array.
		tr.Files = slices.Clip(tr.Files)
		for _, it := range items {
			var s mediaSummary
			switch up := it.up; {
			case up == nil:
				s = mediaSummary{Type: it.part.kind, MediaType: it.part.mediaType(), Size: base64ByteLength(it.part.data), Error: uploadFailed}
			case up.ok:
				s = mediaSummary{Type: it.part.kind, MediaType: up.req.MediaType, Size: up.req.Size, URL: up.info.DownloadURL}
				if it.asImage {
					size := float64(up.req.Size)
					tr.Files = append(tr.Files, FileReference{ID: up.info.ID, MediaType: up.req.MediaType, URL: up.info.DownloadURL, Filename: up.req.Filename, Size: &size})
				} else if it.part.kind == "image" {
					s.Error = NotAValidImageNote
				}
			default:
				s = mediaSummary{Type: it.part.kind, MediaType: up.req.MediaType, Size: up.req.Size, Error: uploadFailed}
			}
			b, err := marshalJSON(s)
			if err != nil {
				return fmt.Errorf("octavus: normalizing tool result media: %w", err)
			}
			parts[it.index] = b
		}
		out, err := loc.rebuild(parts)
		if err != nil {
			return fmt.Errorf("octavus: normalizing tool result media: %w", err)
		}
		tr.Result = out
		setFilesPresent(tr)
	}
	return nil
}

// outputFile is a valid entry of a result's outputFiles.
type outputFile struct {
	Name          string
	Path          *string // nil when absent
	MediaType     string
	Size          json.Number
	ContentBase64 string
	size          json.RawMessage // the size as received, written back
}

// asOutputFile reads raw as {name, path?, mediaType, size, contentBase64}
// with the reference's types (a path, when present, is a string).
func asOutputFile(raw json.RawMessage) (outputFile, bool) {
	members, ok := decodeJSONMembers(raw)
	if !ok {
		return outputFile{}, false
	}
	var f outputFile
	need := map[string]bool{"name": false, "mediaType": false, "size": false, "contentBase64": false}
	for _, m := range members {
		var err error
		switch m.key {
		case "name":
			err = unmarshalJSONString(m.val, &f.Name)
		case "mediaType":
			err = unmarshalJSONString(m.val, &f.MediaType)
		case "contentBase64":
			err = unmarshalJSONString(m.val, &f.ContentBase64)
		case "path":
			var p string
			err = unmarshalJSONString(m.val, &p)
			f.Path = &p
		case "size":
			if c := jsonFirstByte(m.val); c != '-' && (c < '0' || c > '9') {
				err = errors.New("not a number")
			} else {
				err = json.Unmarshal(m.val, &f.Size)
				f.size = m.val
			}
		default:
			continue
		}
		if err != nil {
			return outputFile{}, false
		}
		need[m.key] = true
	}
	for _, have := range need {
		if !have {
			return outputFile{}, false
		}
	}
	return f, true
}

func unmarshalJSONString(raw json.RawMessage, s *string) error {
	if jsonFirstByte(raw) != '"' {
		return errors.New("not a string")
	}
	return json.Unmarshal(raw, s)
}

// outputFileSummary replaces an output file once handled.
type outputFileSummary struct {
	Name      string          `json:"name"`
	Path      *string         `json:"path,omitempty"`
	MediaType string          `json:"mediaType"`
	Size      json.RawMessage `json:"size"`
	URL       string          `json:"url,omitempty"`
	Error     string          `json:"error,omitempty"`
}

// NormalizeToolResultOutputFiles uploads the output files a tool result
// carries and puts links in their place, as the reference's
// normalizeToolResultOutputFiles: file contents never ride the
// continuation. Call it from AttachOptions.OnToolResults, with
// NormalizeToolResultMedia or alone.
//
// A result (not one captured in an outputVariable) that is an object with
// "outputFiles": [{name, path?, mediaType, size, contentBase64}, ...] has
// each file uploaded to session sessionID (files.GetUploadURLs, then a PUT
// that carries only the Content-Type, never the API key). Each entry
// becomes {name, path?, mediaType, size, url}, or {name, path?, mediaType,
// size, error: "Upload failed"}: contentBase64 is dropped even then.
// Uploaded files are added to the result's Files, so the platform emits
// file-available events for them on the next leg. As in the reference,
// entries that do not have that shape are dropped from outputFiles when
// at least one does, and the declared name, media type and size are used
// as they are.
//
// A result changed is a json.RawMessage afterwards, its other keys kept
// as they were. A file whose content is not base64, or is over 64 MiB
// decoded, gets the "Upload failed" error (the reference throws on bad
// base64). The error is nil unless ctx ends (or files is nil).
func NormalizeToolResultOutputFiles(ctx context.Context, files *FilesAPI, sessionID string, results []ToolResult) error {
	if err := checkNormalizeArgs("NormalizeToolResultOutputFiles", files); err != nil {
		return err
	}
	for ri := range results {
		tr := &results[ri]
		if tr.OutputVariable != "" {
			continue
		}
		raw, ok := resultJSON(tr.Result)
		if !ok {
			continue
		}
		members, ok := decodeJSONMembers(raw)
		if !ok {
			continue
		}
		at := -1
		for i, m := range members {
			if m.key == "outputFiles" {
				at = i
			}
		}
		if at < 0 {
			continue
		}
		entries, ok := decodeJSONArray(members[at].val)
		if !ok {
			continue
		}
		var outputs []outputFile
		var ups []*mediaUpload // parallel to outputs; nil when not decodable
		var toUpload []*mediaUpload
		for _, e := range entries {
			f, ok := asOutputFile(e)
			if !ok {
				continue
			}
			outputs = append(outputs, f)
			var up *mediaUpload
			if body, err := decodeBase64(f.ContentBase64); err == nil {
				size, _ := f.Size.Float64()
				up = &mediaUpload{body: body, req: FileUploadRequest{Filename: f.Name, MediaType: f.MediaType, Size: int64(size)}}
				toUpload = append(toUpload, up)
			}
			ups = append(ups, up)
		}
		if len(outputs) == 0 {
			continue
		}
		got, err := uploadMediaFiles(ctx, files, sessionID, toUpload)
		if err != nil {
			return fmt.Errorf("octavus: normalizing tool result output files: %w", err)
		}
		summaries := make([]outputFileSummary, len(outputs))
		tr.Files = slices.Clip(tr.Files)
		for i, f := range outputs {
			s := outputFileSummary{Name: f.Name, Path: f.Path, MediaType: f.MediaType, Size: f.size}
			if up := ups[i]; up != nil && up.ok {
				s.URL = up.info.DownloadURL
				size, _ := f.Size.Float64()
				tr.Files = append(tr.Files, FileReference{ID: up.info.ID, MediaType: f.MediaType, URL: up.info.DownloadURL, Filename: f.Name, Size: &size})
			} else {
				s.Error = uploadFailed
			}
			summaries[i] = s
		}
		arr, err := marshalJSON(summaries)
		if err == nil {
			members[at].val = arr
			raw, err = encodeJSONMembers(members)
		}
		if err != nil {
			return fmt.Errorf("octavus: normalizing tool result output files: %w", err)
		}
		tr.Result = raw
		if got {
			// The reference leaves files alone when it got no upload URLs.
			setFilesPresent(tr)
		}
	}
	return nil
}

// setFilesPresent makes a result without files say "files": [], as the
// reference's results do once normalized.
func setFilesPresent(tr *ToolResult) {
	if len(tr.Files) == 0 {
		tr.extra.set("files", json.RawMessage("[]"))
	}
}
