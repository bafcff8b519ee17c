package stacks

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
)

// Configurations other than the test config are synthesized by a second process, this test
// binary run again, while this one synthesizes the shared app and runs the tests on it. jsii runs
// one Node process per Go process and a synth is single-threaded, so on two cores the second
// core would otherwise idle through seconds of variant synths.

// variantsWorker, when given, makes the test binary synthesize every variant into that folder and
// exit instead of running tests. A flag, not an environment variable: a variable left in a
// shell would turn every later `go test ./stacks` into a worker that runs no test and passes.
var variantsWorker = flag.String("variants-worker", "", "internal: synthesize the variant configurations into this folder and exit (the stacks tests start it)")

// variantTimeout bounds the worker's whole run, counted from its start, so that a hung worker
// fails the tests with its own message instead of holding them until go test's timeout.
const variantTimeout = 5 * time.Minute

// A variant is one configuration the tests synthesize in an App of its own.
type variant struct {
	name   string
	config func() (config.Config, error)
	// validate runs CDK's built-in validation over the variant's templates (its pipeline
	// differs in shape from the shared app's, which is validated anyway).
	validate bool
}

// variants are synthesized in this order; the tests that run first come first.
var variants = []variant{
	{"largest", largestConfig, true},
	{"three", func() (config.Config, error) { return listConfig(threeEnvironments(), nil) }, false},
	{"github", githubConfig, true},
}

// synthesized is what the worker hands back for one variant.
type synthesized struct {
	Stacks     []string // stack IDs in the order Build made them
	Roles      []string // the roles stacks' IDs
	Templates  map[string]map[string]any
	Nag        map[string][]string // cdk-nag findings by stack ID
	Validation map[string]any      // CDK's validation report, when the variant is validated
	Err        string
}

// listConfig is the test config with an environments list in place of the pair, and more keys.
func listConfig(list string, more map[string]any) (config.Config, error) {
	v := testValues()
	delete(v, config.DevAccountKey)
	delete(v, config.ProdAccountKey)
	v[config.EnvironmentsKey] = list
	for k, x := range more {
		v[k] = x
	}
	return config.NewConfig(v)
}

// synthesizeVariants is the worker's whole run: each variant, in order, written to dir as
// <name>.json once complete. A variant that fails is written with its error, so the test that
// reads it reports the failure.
func synthesizeVariants(dir string) int {
	// The parent holds the other end of stdin; when it ends, however it ends, so does the worker.
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(1)
	}()
	defer jsii.Close()
	ctx, err := config.CDKJSONContext("../cdk.json")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, v := range variants {
		out := synthesizeVariant(ctx, v)
		data, err := json.Marshal(out)
		if err == nil {
			tmp := filepath.Join(dir, v.name+".json.tmp")
			if err = os.WriteFile(tmp, data, 0o644); err == nil {
				err = os.Rename(tmp, filepath.Join(dir, v.name+".json"))
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, v.name+":", err)
			return 1
		}
	}
	return 0
}

func synthesizeVariant(ctx map[string]any, v variant) (out synthesized) {
	defer func() {
		if r := recover(); r != nil {
			out.Err = fmt.Sprint(r)
		}
	}()
	cfg, err := v.config()
	if err != nil {
		return synthesized{Err: err.Error()}
	}
	dir, err := os.MkdirTemp("", "cdk-variant-")
	if err != nil {
		return synthesized{Err: err.Error()}
	}
	defer os.RemoveAll(dir)
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(dir), BuiltinCloudFormationValidation: jsii.Bool(false)})
	s, err := Build(app, cfg)
	if err != nil {
		return synthesized{Err: err.Error()}
	}
	asm := app.Synth(nil)
	out = synthesized{Templates: map[string]map[string]any{}, Nag: map[string][]string{}}
	for _, st := range s.All() {
		id := *st.StackName()
		out.Stacks = append(out.Stacks, id)
		out.Templates[id], _ = asm.GetStackByName(st.StackName()).Template().(map[string]any)
		out.Nag[id] = nagFindingsIn(asm, id)
	}
	for _, r := range s.Roles {
		out.Roles = append(out.Roles, *r.StackName())
	}
	if v.validate {
		if out.Validation, err = validationReport(ctx, cfg, out.Templates); err != nil {
			out.Err = "the built-in validation: " + err.Error()
		}
	}
	return out
}

// variantWorker is the running worker, started by TestMain.
type variantWorker struct {
	dir   string
	cmd   *exec.Cmd
	stdin io.Closer
	done  chan struct{}
	// deadline is when the worker must have written every variant.
	deadline time.Time
	stderr   bytes.Buffer
	mu       sync.Mutex
	cache    map[string]*synthesized
}

var worker *variantWorker

func startVariantWorker() (*variantWorker, error) {
	dir, err := os.MkdirTemp("", "cdk-variants-")
	if err != nil {
		return nil, err
	}
	w := &variantWorker{dir: dir, done: make(chan struct{}), cache: map[string]*synthesized{}, deadline: time.Now().Add(variantTimeout)}
	w.cmd = exec.Command(os.Args[0], "-test.run=^$", "-variants-worker="+dir)
	w.cmd.Stderr = &w.stderr
	if w.stdin, err = w.cmd.StdinPipe(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := w.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	go func() { _ = w.cmd.Wait(); close(w.done) }()
	return w, nil
}

// stop ends the worker (it may still be synthesizing variants no test asked for) and removes
// its folder.
func (w *variantWorker) stop() {
	_ = w.stdin.Close()
	_ = w.cmd.Process.Kill()
	<-w.done
	os.RemoveAll(w.dir)
}

// result waits for the variant's file.
func (w *variantWorker) result(name string) (*synthesized, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r, ok := w.cache[name]; ok {
		return r, nil
	}
	path := filepath.Join(w.dir, name+".json")
	deadline := time.After(time.Until(w.deadline))
	for {
		data, err := os.ReadFile(path)
		if err == nil {
			var r synthesized
			if err := json.Unmarshal(data, &r); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			w.cache[name] = &r
			return &r, nil
		}
		select {
		case <-w.done:
			if _, err := os.Stat(path); err == nil {
				continue
			}
			return nil, fmt.Errorf("the variant worker ended (%v) without synthesizing %s:\n%s", w.cmd.ProcessState, name, w.stderr.String())
		case <-deadline:
			return nil, fmt.Errorf("the variant worker has not synthesized %s within %v of its start", name, variantTimeout)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// synthesizedVariant returns a variant's config and what the worker synthesized, failing the test
// when the synth failed or left a cdk-nag or validation finding: the variants pass the same gates
// as the shared app.
func synthesizedVariant(t *testing.T, name string) (config.Config, *synthesized) {
	t.Helper()
	i := -1
	for j, v := range variants {
		if v.name == name {
			i = j
		}
	}
	require.NotEqual(t, -1, i, "no variant %q", name)
	cfg, err := variants[i].config()
	require.NoError(t, err)
	require.NotNil(t, worker, "TestMain starts the variant worker")
	r, err := worker.result(name)
	require.NoError(t, err)
	require.Empty(t, r.Err, "synthesizing the %s variant", name)
	for id, findings := range r.Nag {
		assert.Empty(t, findings, "%s of the %s variant has cdk-nag findings", id, name)
	}
	if variants[i].validate {
		require.NotNil(t, r.Validation, "the built-in validation must run over the %s variant", name)
		assert.Empty(t, r.Validation["pluginReports"], "the %s variant's templates have validation findings", name)
	}
	return cfg, r
}
