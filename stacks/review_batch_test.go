package stacks

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/assets"
)

// reviewRun is what one command of review.js printed, and its exit status.
type reviewRun struct {
	Stdout, Stderr string
	Status         int
}

// runReview runs one command of review.js as `node review.js <args>` would, and returns what it
// printed and its exit status. It calls the function that command line runs (review.js's cli)
// in the package's one review harness instead of starting node for each case: a start costs
// about 0.3 s of CPU, seconds for the corpus on two cores. TestReviewCLIPrintsWhatTheHarnessDoes
// checks that node running the script prints the same.
func runReview(t *testing.T, args ...string) reviewRun {
	t.Helper()
	node := nodeBinary(t)
	reviewHarnessOnce.Do(func() { sharedReviewHarness = startReviewHarness(node) })
	run, err := sharedReviewHarness.run(args)
	require.NoError(t, err)
	return run
}

// The package's review harness, started by the first test that needs it.
var (
	reviewHarnessOnce   sync.Once
	sharedReviewHarness *reviewHarness
)

// reviewHarness is node running testdata/review-harness.js on the review.js that assets embeds
// (the bytes the trusted buildspecs carry). It lives as long as the test binary: its stdin
// closes when the binary exits, and the harness ends with it.
type reviewHarness struct {
	mu     sync.Mutex // one command at a time, as node runs them anyway
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr bytes.Buffer // the harness's own errors; read once node has exited
	err    error        // why the harness judges nothing (more)
}

func startReviewHarness(node string) *reviewHarness {
	h := &reviewHarness{}
	h.err = h.start(node)
	return h
}

func (h *reviewHarness) start(node string) error {
	dir, err := os.MkdirTemp("", "review-harness-")
	if err != nil {
		return err
	}
	// Node reads review.js once, before the harness says it is ready.
	defer os.RemoveAll(dir)
	script, err := writeReviewScript(dir)
	if err != nil {
		return err
	}
	h.cmd = exec.Command(node, filepath.Join("testdata", "review-harness.js"), script)
	h.cmd.Stderr = &h.stderr
	if h.stdin, err = h.cmd.StdinPipe(); err != nil {
		return err
	}
	stdout, err := h.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	h.stdout = bufio.NewReader(stdout)
	if err := h.cmd.Start(); err != nil {
		return err
	}
	if line, err := h.stdout.ReadString('\n'); line != "ready\n" {
		return h.stopped(fmt.Errorf("it said %q (%v), not ready", line, err))
	}
	return nil
}

// run sends one command line and reads what review.js printed.
func (h *reviewHarness) run(args []string) (reviewRun, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return reviewRun{}, h.err
	}
	request, err := json.Marshal(args)
	if err != nil {
		return reviewRun{}, err
	}
	var run reviewRun
	if _, err = h.stdin.Write(append(request, '\n')); err == nil {
		var answer []byte
		if answer, err = h.stdout.ReadBytes('\n'); err == nil {
			err = json.Unmarshal(answer, &run)
		}
	}
	if err != nil {
		h.err = h.stopped(err)
	}
	return run, h.err
}

// stopped ends the harness after it failed to answer, and says why, with what node printed.
func (h *reviewHarness) stopped(err error) error {
	h.stdin.Close()
	return fmt.Errorf("review.js's test harness stopped: %w (%v): %s", err, h.cmd.Wait(), h.stderr.String())
}

// writeReviewScript writes the review.js that assets embeds into dir.
func writeReviewScript(dir string) (string, error) {
	script, err := assets.Script(assets.ReviewScript)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, assets.ReviewScript)
	return path, os.WriteFile(path, script, 0o644)
}

// The buildspecs run `node review.js pipeline`, the tests the cli function it calls (runReview).
// On an ordinary edit, a hostile one and a template it cannot read, the script judges as the
// tests see it judge: the same bytes on stdout and on stderr, the same exit status.
func TestReviewCLIPrintsWhatTheHarnessDoes(t *testing.T) {
	script, err := writeReviewScript(t.TempDir())
	require.NoError(t, err)
	unreadable := func(t *testing.T) (string, string) {
		dir := t.TempDir()
		deployed, synthesized := filepath.Join(dir, "deployed.json"), filepath.Join(dir, "synthesized.json")
		require.NoError(t, os.WriteFile(deployed, []byte("{}"), 0o644))
		require.NoError(t, os.WriteFile(synthesized, []byte("{"), 0o644))
		return deployed, synthesized
	}
	ordinary, hostile := ordinaryEdits[0], hostileEdits[0]
	for _, c := range []struct {
		name  string
		files func(t *testing.T) (string, string)
		check func(t *testing.T, cli reviewRun)
	}{
		{"ordinary: " + ordinary.name, func(t *testing.T) (string, string) { return reviewFiles(t, ordinary.edit, ordinary.onDeployed) },
			func(t *testing.T, cli reviewRun) {
				v := parseVerdict(t, cli.Stdout)
				assert.True(t, v.Changed)
				assert.False(t, v.Widens, "%s goes through without a person: %s", ordinary.name, v.Reason)
			}},
		{"hostile: " + hostile.name, func(t *testing.T) (string, string) { return reviewFiles(t, hostile.edit, hostile.onDeployed) },
			func(t *testing.T, cli reviewRun) {
				v := parseVerdict(t, cli.Stdout)
				assert.True(t, v.Widens, "%s must wait for a person", hostile.name)
				assert.Contains(t, v.Reason, hostile.want)
			}},
		{"a template that is not JSON", unreadable, func(t *testing.T, cli reviewRun) {
			assert.Equal(t, 1, cli.Status, "the review fails")
			assert.Empty(t, cli.Stdout, "and prints no verdict")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			deployed, synthesized := c.files(t)
			cmd := exec.Command(nodeBinary(t), script, "pipeline", deployed, synthesized)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				var exit *exec.ExitError
				require.ErrorAs(t, err, &exit, "node ran")
			}
			cli := reviewRun{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
			c.check(t, cli)
			assert.Equal(t, cli, runReview(t, "pipeline", deployed, synthesized), "the harness sees what the script prints")
		})
	}
}
