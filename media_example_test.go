package octavus_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/octavustest"
)

// newUploadPlatform is a fake platform whose upload-urls answer points at a
// fake storage on another host, which takes every PUT.
func newUploadPlatform() (platform, storage *httptest.Server) {
	storage = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Header.Get("Authorization") != "" {
			w.WriteHeader(http.StatusBadRequest) // presigned URLs take no key
		}
	}))
	platform = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Files []json.RawMessage `json:"files"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		type info struct {
			ID          string `json:"id"`
			UploadURL   string `json:"uploadUrl"`
			DownloadURL string `json:"downloadUrl"`
		}
		out := struct {
			Files []info `json:"files"`
		}{Files: []info{}}
		for i := range body.Files {
			out.Files = append(out.Files, info{
				ID:          fmt.Sprintf("file_%d", i+1),
				UploadURL:   fmt.Sprintf("%s/upload/%d?signature=x", storage.URL, i+1),
				DownloadURL: fmt.Sprintf("https://files.example/%d", i+1),
			})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}))
	return platform, storage
}

// NormalizeToolResultMedia swaps a tool's inline base64 screenshot for a
// link, and attaches the image so the model sees it. Wire it into the
// session's tool loop with AttachOptions.OnToolResults (next example).
func ExampleNormalizeToolResultMedia() {
	platform, storage := newUploadPlatform()
	defer platform.Close()
	defer storage.Close()
	client, _ := octavus.NewClient(octavus.ClientOptions{BaseURL: platform.URL, APIKey: "key"})

	png := append([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, "...pixels"...)
	results := []octavus.ToolResult{{
		ToolCallID: "call_1",
		ToolName:   "take-screenshot",
		Result: json.RawMessage(`[{"type":"text","text":"Here it is"},` +
			`{"type":"image","data":"` + base64.StdEncoding.EncodeToString(png) + `","mimeType":"image/png"}]`),
	}}
	if err := octavus.NormalizeToolResultMedia(context.Background(), client.Files, "sess_1", results); err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(string(results[0].Result.(json.RawMessage)))
	f := results[0].Files[0]
	fmt.Println(f.ID, f.MediaType, f.URL, *f.Size)
	// Output:
	// [{"type":"text","text":"Here it is"},{"type":"image","mediaType":"image/png","size":17,"url":"https://files.example/1"}]
	// file_1 image/png https://files.example/1 17
}

// NormalizeToolResultOutputFiles uploads the files a tool produced (here a
// skill's report) and leaves links in the result.
func ExampleNormalizeToolResultOutputFiles() {
	platform, storage := newUploadPlatform()
	defer platform.Close()
	defer storage.Close()
	client, _ := octavus.NewClient(octavus.ClientOptions{BaseURL: platform.URL, APIKey: "key"})

	results := []octavus.ToolResult{{
		ToolCallID: "call_1",
		ToolName:   "run-skill",
		Result: map[string]any{
			"exitCode": 0,
			"outputFiles": []map[string]any{{
				"name": "report.csv", "path": "/work/report.csv", "mediaType": "text/csv",
				"size": 11, "contentBase64": base64.StdEncoding.EncodeToString([]byte("a,b\n1,2\n3,4")),
			}},
		},
	}}
	if err := octavus.NormalizeToolResultOutputFiles(context.Background(), client.Files, "sess_1", results); err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(string(results[0].Result.(json.RawMessage)))
	fmt.Println(results[0].Files[0].Filename, results[0].Files[0].URL)
	// Output:
	// {"exitCode":0,"outputFiles":[{"name":"report.csv","path":"/work/report.csv","mediaType":"text/csv","size":11,"url":"https://files.example/1"}]}
	// report.csv https://files.example/1
}

func ExampleSniffImageMediaType() {
	fmt.Printf("%q\n", octavus.SniffImageMediaType([]byte{0xff, 0xd8, 0xff, 0xe0}))
	fmt.Printf("%q\n", octavus.SniffImageMediaType([]byte("<!doctype html>")))
	// Output:
	// "image/jpeg"
	// ""
}

// In the tool loop: OnToolResults uploads the screenshot a tool returned
// before the result goes anywhere, so the browser and the model get a link,
// and the model gets the image as a file.
func ExampleNormalizeToolResultMedia_onToolResults() {
	platform := octavustest.NewServer(octavustest.WithScript(octavustest.Repeat(
		octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
			if len(req.ToolResults) == 0 {
				return octavustest.Stream(octavustest.ToolCall{Name: "take-screenshot"})
			}
			tr := req.ToolResults[0]
			return octavustest.Stream(octavustest.Text(fmt.Sprintf("I got %d file(s), a %s", len(tr.Files), tr.Files[0]["mediaType"])))
		}),
	)))
	defer platform.Close()
	client, _ := octavus.NewClient(octavus.ClientOptions{BaseURL: platform.URL, APIKey: platform.APIKey})
	ctx := context.Background()
	sessionID, _ := client.AgentSessions.Create(ctx, platform.AddAgent(octavustest.Agent{Name: "Computer"}), nil)

	png := append([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, "...pixels"...)
	session := client.AgentSessions.Attach(sessionID, octavus.AttachOptions{
		Tools: octavus.ToolHandlers{
			"take-screenshot": func(ctx context.Context, args map[string]any) (any, error) {
				return []map[string]any{{"type": "image", "mimeType": "image/png", "data": base64.StdEncoding.EncodeToString(png)}}, nil
			},
		},
		OnToolResults: func(ctx context.Context, results []octavus.ToolResult) error {
			return octavus.NormalizeToolResultMedia(ctx, client.Files, sessionID, results)
		},
	})
	for ev := range session.Execute(ctx, octavus.TriggerRequest{TriggerName: "user-message"}) {
		switch ev := ev.(type) {
		case *octavus.ToolOutputAvailableEvent:
			var parts []struct {
				Type, MediaType, URL string
				Size                 int
			}
			_ = json.Unmarshal(ev.Output, &parts)
			resp, err := http.Get(parts[0].URL)
			if err != nil {
				panic(err)
			}
			stored, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			fmt.Println("tool output:", parts[0].Type, parts[0].MediaType, parts[0].Size, "bytes; stored:", bytes.Equal(stored, png))
		case *octavus.TextDeltaEvent:
			fmt.Println("agent:", ev.Delta)
		}
	}
	// Output:
	// tool output: image image/png 17 bytes; stored: true
	// agent: I got 1 file(s), a image/png
}
