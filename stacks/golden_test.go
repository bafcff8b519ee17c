package stacks

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

var update = flag.Bool("update", false, "rewrite the golden templates in testdata/ (make update-golden)")

// assetHash matches the content hashes the CDK puts into asset keys; they change with any edit
// of the asset's files, which the fine-grained tests cover, so the snapshots leave them out.
var assetHash = regexp.MustCompile(`[0-9a-f]{64}`)

// TestGolden compares every stack's template with its snapshot. The snapshots are the safety
// net for refactors: a changed logical ID of a stateful resource (which would replace it in
// production) or any other unintended change shows up here as a diff to review.
func TestGolden(t *testing.T) {
	// Every snapshot on disk must belong to a stack: one left behind by a renamed or removed
	// stack would otherwise go stale without a word.
	files, err := filepath.Glob(filepath.Join("testdata", config.TemplateFile("*")))
	require.NoError(t, err)
	for _, f := range files {
		id := strings.TrimSuffix(filepath.Base(f), config.TemplateFile(""))
		if _, ok := raw[id]; !ok {
			t.Errorf("%s has no stack %s in the app: delete the snapshot if the stack is gone on purpose", f, id)
		}
	}
	for id, tmpl := range raw {
		t.Run(id, func(t *testing.T) {
			text, err := json.MarshalIndent(tmpl, "", "  ")
			require.NoError(t, err)
			got := assetHash.ReplaceAll(text, []byte("<asset-hash>"))
			path := filepath.Join("testdata", config.TemplateFile(id))
			if *update {
				require.NoError(t, os.WriteFile(path, append(got, '\n'), 0o644))
				return
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "no snapshot yet: run `make update-golden` and review the new file")
			var gotJSON, wantJSON any
			require.NoError(t, json.Unmarshal(got, &gotJSON))
			require.NoError(t, json.Unmarshal(want, &wantJSON), "%s is not valid JSON", path)
			if diffs := jsonDiff("", wantJSON, gotJSON); len(diffs) > 0 {
				if len(diffs) > 20 {
					diffs = append(diffs[:20], fmt.Sprintf("... and %d more", len(diffs)-20))
				}
				t.Errorf("%s differs from %s; if the change is intended, run `make update-golden` and review the diff:\n  %s",
					id, path, strings.Join(diffs, "\n  "))
			}
		})
	}
}

// jsonDiff lists where two decoded JSON values differ, by path, so a snapshot failure reads as
// "Resources.Bucket.Properties.BucketName: ..." instead of two pages of maps.
func jsonDiff(path string, want, got any) []string {
	wm, wok := want.(map[string]any)
	gm, gok := got.(map[string]any)
	if wok && gok {
		var out []string
		all := append(keys(wm), keys(gm)...)
		slices.Sort(all)
		for _, k := range slices.Compact(all) {
			p := strings.TrimPrefix(path+"."+k, ".")
			w, inW := wm[k]
			g, inG := gm[k]
			switch {
			case !inW:
				out = append(out, p+": added")
			case !inG:
				out = append(out, p+": removed")
			default:
				out = append(out, jsonDiff(p, w, g)...)
			}
		}
		return out
	}
	wa, waok := want.([]any)
	ga, gaok := got.([]any)
	if waok && gaok && len(wa) == len(ga) {
		var out []string
		for i := range wa {
			out = append(out, jsonDiff(fmt.Sprintf("%s[%d]", path, i), wa[i], ga[i])...)
		}
		return out
	}
	w, _ := json.Marshal(want)
	g, _ := json.Marshal(got)
	if string(w) == string(g) {
		return nil
	}
	return []string{fmt.Sprintf("%s: %s -> %s", path, clip(string(w)), clip(string(g)))}
}

// clip keeps a changed value readable in the failure message; the whole is in `git diff`
// after make update-golden.
func clip(s string) string {
	if len(s) > 240 {
		return s[:200] + fmt.Sprintf("... (%d characters)", len(s))
	}
	return s
}
