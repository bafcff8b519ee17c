// Command rehearse runs the pipeline's build stage on this machine, the way CodeBuild would,
// and then runs what it built: `make rehearse` is the closest thing to a pipeline run that needs
// no AWS account.
//
// From a clean copy of the committed tree it runs the commands of the very buildspecs the
// CodeBuild projects carry (assets/*.yml), packages and checks their artifacts (a zip whose root
// holds an arm64 `bootstrap`; every environment's application template), and then invokes
// those exact bytes under the AWS Lambda Runtime Interface Emulator with qemu, once per
// environment, checking the answer with the same smoke test the pipeline runs after each
// deployment. The trusted buildspecs (Pipeline_Changes, UpdatePipeline, Check_Roles) run on the
// synthesized assembly against deployed stacks that differ in each way that matters, with the
// AWS calls they make answered from files (trusted.go).
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/crossaccount/cross-account-pipeline/assets"
)

// rieTool is the emulator, pinned as a tool dependency in go.mod.
const rieTool = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// localCacheVars are buildspec variables that point CodeBuild's caches at /root; locally the
// user's own Go, jsii and npm caches serve instead, so they are not overridden.
var localCacheVars = map[string]bool{"GOPATH": true, "GOCACHE": true, "JSII_RUNTIME_PACKAGE_CACHE_ROOT": true, "npm_config_cache": true}

// phases are the buildspec phases CodeBuild runs, in its order.
var phases = []string{"install", "pre_build", "build", "post_build"}

type rehearsal struct {
	repo   string // the repository whose HEAD is rehearsed
	dir    string // scratch folder: the clean copy, artifacts, tools
	work   string // the clean copy, where the buildspecs run
	zip    string // the packaged LambdaBuildOutput
	qemu   string // qemu user-mode emulator for aarch64
	rie    string // the built emulator
	envs   []environment
	stdout io.Writer
}

// environment is one line of `cdk-app environments`.
type environment struct{ Name, Account, StackID, AppName, RolesStack string }

func main() {
	// The `aws` stand-in asks the rehearsal itself whether a build's role may write to S3.
	if len(os.Args) == 4 && os.Args[1] == "-authorize" {
		os.Exit(authorize(os.Args[2], os.Args[3]))
	}
	keep := flag.Bool("keep", false, "keep the scratch folder for inspection")
	flag.Parse()

	repo, err := os.Getwd()
	if err == nil {
		err = run(repo, *keep)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rehearsal FAILED:", err)
		os.Exit(1)
	}
}

func run(repo string, keep bool) error {
	dir, err := os.MkdirTemp("", "rehearse-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Println("scratch folder:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	r := &rehearsal{repo: repo, dir: dir, work: filepath.Join(dir, "src"), stdout: os.Stdout}
	steps := []struct {
		name string
		fn   func() error
	}{
		{"check the local tools", r.checkTools},
		{"copy the committed tree (git archive HEAD)", r.copyTree},
		{"Application_Build: run " + assets.ApplicationBuildspec, func() error { return r.runBuildspec(assets.ApplicationBuildspec) }},
		{"Application_Build: package and check LambdaBuildOutput", r.packageLambda},
		{"CDK_Synth: run " + assets.SynthBuildspec, func() error { return r.runBuildspec(assets.SynthBuildspec) }},
		{"CDK_Synth: check CdkBuildOutput", r.checkTemplates},
		{"build the Lambda Runtime Interface Emulator", r.buildRIE},
		{"invoke bootstrap for every environment under the emulator", r.invokeAll},
		{"Pipeline_Changes, UpdatePipeline, Record_Digests, Verify_Artifacts, Check_Roles: run their buildspecs on the assembly", r.trustedBuildspecs},
		{"make destroy and purge act on every environment; every deploy target runs its preflight first", r.operationsIterate},
		{"a push that adds an environment to cdk.json: CDK_Synth synthesizes it, make deploy-roles ENV=<it> deploys its roles", r.pushAddsAnEnvironment},
		// The gates must bite: each deliberate fault has to be stopped where the pipeline
		// would stop it, and a fault that gets through fails the rehearsal.
		{"fault: a handler that answers 500 fails the smoke test", r.faultHandler500},
		{"fault: a smoke test that overwrites this run's Lambda build is denied", r.faultSmokeOverwrites},
		{"fault: a failing unit test fails CDK_Synth before anything is synthesized", r.faultFailingTest},
	}
	total := time.Now()
	for i, s := range steps {
		fmt.Printf("==> [%d/%d] %s\n", i+1, len(steps), s.name)
		start := time.Now()
		if err := s.fn(); err != nil {
			return fmt.Errorf("step %q (after %s): %w", s.name, since(start), err)
		}
		fmt.Printf("    ok in %s\n", since(start))
	}
	fmt.Printf("rehearsal passed in %s\n", since(total))
	return nil
}

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }

// checkTools fails early, with the fix, when a tool the later steps need is missing.
func (r *rehearsal) checkTools() error {
	var missing []string
	for _, tool := range []string{"git", "make", "go", "npm", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	for _, q := range []string{"qemu-aarch64-static", "qemu-aarch64"} {
		if p, err := exec.LookPath(q); err == nil {
			r.qemu = p
			break
		}
	}
	if r.qemu == "" {
		missing = append(missing, "qemu-aarch64-static (Debian/Ubuntu: apt-get install qemu-user-static)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing: %s", strings.Join(missing, ", "))
	}
	return nil
}

// copyTree exports HEAD, so uncommitted edits and local build output cannot make the
// rehearsal pass where the pipeline, which builds a clean checkout, would fail.
func (r *rehearsal) copyTree() error {
	if out, _ := exec.Command("git", "-C", r.repo, "status", "--porcelain").Output(); len(out) > 0 {
		fmt.Println("    note: uncommitted changes are not part of the rehearsal")
	}
	if err := os.MkdirAll(r.work, 0o755); err != nil {
		return err
	}
	archive := exec.Command("git", "-C", r.repo, "archive", "--format=tar", "HEAD")
	extract := exec.Command("tar", "-x", "-C", r.work)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return err
	}
	extract.Stdin = pipe
	var stderr bytes.Buffer
	archive.Stderr, extract.Stderr = &stderr, &stderr
	if err := extract.Start(); err != nil {
		return err
	}
	if err := archive.Run(); err != nil {
		return fmt.Errorf("git archive: %w: %s", err, stderr.String())
	}
	if err := extract.Wait(); err != nil {
		return fmt.Errorf("tar: %w: %s", err, stderr.String())
	}
	return nil
}

// runBuildspec runs the commands of a buildspec's phases as CodeBuild does: one bash per phase
// with its env variables, stopping at the first failing command.
func (r *rehearsal) runBuildspec(name string) error { return r.runBuildspecTo(name, r.stdout) }

// runBuildspecTo runs a buildspec with its commands' output (stdout and stderr) going to out.
func (r *rehearsal) runBuildspecTo(name string, out io.Writer) error {
	_, err := r.runBuildspecIn(name, r.work, nil, out)
	return err
}

// runBuildspecIn runs a buildspec in dir (CodeBuild's source directory: the input artifact)
// with extra environment variables, and returns its exported variables as CodeBuild would hand
// them to the pipeline.
func (r *rehearsal) runBuildspecIn(name, dir string, extra []string, out io.Writer) (map[string]string, error) {
	spec, err := assets.Buildspec(name)
	if err != nil {
		return nil, err
	}
	env := os.Environ()
	vars, _ := lookup(spec, "env", "variables").(map[string]any)
	for _, k := range sortedKeys(vars) {
		if !localCacheVars[k] {
			env = append(env, fmt.Sprintf("%s=%v", k, vars[k]))
		}
	}
	env = append(env, extra...)
	if rt, ok := lookup(spec, "phases", "install", "runtime-versions").(map[string]any); ok && out == r.stdout {
		fmt.Printf("    runtime-versions %v: using the local toolchains instead\n", rt)
	}
	exported, _ := lookup(spec, "env", "exported-variables").([]any)
	exports := map[string]string{}
	for _, phase := range phases {
		cmds, _ := lookup(spec, "phases", phase, "commands").([]any)
		if len(cmds) == 0 {
			continue
		}
		script := []string{"set -eo pipefail"}
		for _, c := range cmds {
			script = append(script, fmt.Sprintf("echo '    $ %s'", strings.ReplaceAll(short(fmt.Sprint(c)), "'", `'\''`)), fmt.Sprint(c))
		}
		// CodeBuild exports the variables' values at the end of the build.
		for _, v := range exported {
			script = append(script, fmt.Sprintf(`echo "::export %s=${%s}" >&3`, v, v))
		}
		var exportsOut bytes.Buffer
		cmd := exec.Command("bash", "-c", strings.Join(script, "\n"))
		cmd.Dir, cmd.Env = dir, env
		cmd.Stdout, cmd.Stderr = out, out
		if out == r.stdout {
			cmd.Stderr = os.Stderr
		}
		pr, pw, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		cmd.ExtraFiles = []*os.File{pw}
		done := make(chan struct{})
		go func() { _, _ = io.Copy(&exportsOut, pr); close(done) }()
		err = cmd.Run()
		pw.Close()
		<-done
		pr.Close()
		for _, line := range strings.Split(exportsOut.String(), "\n") {
			if kv, ok := strings.CutPrefix(line, "::export "); ok {
				k, v, _ := strings.Cut(kv, "=")
				exports[k] = v
			}
		}
		if err != nil {
			return exports, fmt.Errorf("phase %s of %s: %w", phase, name, err)
		}
	}
	return exports, nil
}

// short is a command as the log shows it: long inline data cut.
func short(cmd string) string {
	if len(cmd) > 160 {
		return cmd[:120] + "..."
	}
	return cmd
}

// buildspecArtifacts resolves the artifacts section of one of the embedded buildspecs.
func buildspecArtifacts(name, work string) (base string, files []string, err error) {
	spec, err := assets.Buildspec(name)
	if err != nil {
		return "", nil, err
	}
	return artifactFiles(spec, work)
}

// artifactFiles resolves a buildspec's artifacts section to files in the work tree.
func artifactFiles(spec map[string]any, work string) (base string, files []string, err error) {
	baseDir, _ := lookup(spec, "artifacts", "base-directory").(string)
	base = filepath.Join(work, baseDir)
	patterns, _ := lookup(spec, "artifacts", "files").([]any)
	if len(patterns) == 0 {
		return "", nil, errors.New("the buildspec names no artifact files")
	}
	for _, p := range patterns {
		if p == "**/*" {
			// Everything under the base directory, as CodeBuild reads this pattern.
			err := filepath.WalkDir(base, func(path string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(base, path)
					files = append(files, rel)
				}
				return err
			})
			if err != nil || len(files) == 0 {
				return "", nil, fmt.Errorf("artifact %s/**/* was not produced: %v", baseDir, err)
			}
			continue
		}
		matches, err := filepath.Glob(filepath.Join(base, fmt.Sprint(p)))
		if err != nil {
			return "", nil, err
		}
		if len(matches) == 0 {
			return "", nil, fmt.Errorf("artifact %s/%v was not produced", baseDir, p)
		}
		for _, m := range matches {
			rel, _ := filepath.Rel(base, m)
			files = append(files, rel)
		}
	}
	return base, files, nil
}

// packageLambda zips the Application_Build artifact as CodeBuild does and checks what Lambda
// needs of it: bootstrap at the root, executable, built for arm64.
func (r *rehearsal) packageLambda() error {
	base, files, err := buildspecArtifacts(assets.ApplicationBuildspec, r.work)
	if err != nil {
		return err
	}
	r.zip = filepath.Join(r.dir, "LambdaBuildOutput.zip")
	if err := writeZip(r.zip, base, files); err != nil {
		return err
	}
	if err := checkLambdaZip(r.zip); err != nil {
		return err
	}
	info, _ := os.Stat(r.zip)
	fmt.Printf("    %s: %d bytes, bootstrap is an executable linux/arm64 ELF\n", filepath.Base(r.zip), info.Size())
	return nil
}

func writeZip(path, base string, files []string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for _, name := range files {
		src := filepath.Join(base, name)
		info, err := os.Stat(src)
		if err != nil {
			return err
		}
		hdr, err := zip.FileInfoHeader(info)
		if err != nil {
			return err
		}
		hdr.Name, hdr.Method = filepath.ToSlash(name), zip.Deflate
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	return zw.Close()
}

// checkLambdaZip checks a provided.al2023 arm64 deployment package.
func checkLambdaZip(path string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != "bootstrap" {
			continue
		}
		if f.Mode()&0o111 == 0 {
			return errors.New("bootstrap is not executable: Lambda would fail with Runtime.InvalidEntrypoint")
		}
		data, err := readZipFile(f)
		if err != nil {
			return err
		}
		bin, err := elf.NewFile(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("bootstrap is not an ELF binary: %w", err)
		}
		if bin.Machine != elf.EM_AARCH64 || bin.OSABI != elf.ELFOSABI_NONE && bin.OSABI != elf.ELFOSABI_LINUX {
			return fmt.Errorf("bootstrap is built for %v, but the function runs on linux/arm64", bin.Machine)
		}
		return nil
	}
	return errors.New("the zip has no bootstrap at its root: provided.al2023 would not find the handler")
}

// checkTemplates checks the CDK_Synth artifact: every environment's application template,
// deployable without a bootstrap, taking the code location as parameters, and the pipeline
// and roles stacks that Pipeline_Changes, UpdatePipeline and Check_Roles read.
func (r *rehearsal) checkTemplates() error {
	base, files, err := buildspecArtifacts(assets.SynthBuildspec, r.work)
	if err != nil {
		return err
	}
	list := exec.Command(filepath.Join(r.work, "build", "cdk-app"), "environments")
	list.Dir = r.work
	out, err := list.Output()
	if err != nil {
		return fmt.Errorf("listing the environments with the synthesized app: %w", err)
	}
	r.envs = nil
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 6 {
			return fmt.Errorf("unexpected environments line %q", line)
		}
		r.envs = append(r.envs, environment{Name: f[0], Account: f[1], StackID: f[2], AppName: f[4], RolesStack: f[5]})
	}
	want := []string{"manifest.json", "CrossAccountPipelineStack.template.json", "CrossAccountPipelineStack.assets.json"}
	for _, e := range r.envs {
		name := e.StackID + ".template.json"
		if err := checkApplicationTemplate(filepath.Join(base, name)); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Printf("    %s: parameters LambdaCodeBucket and LambdaCodeKey, no bootstrap needed\n", name)
		if e.RolesStack != "-" {
			want = append(want, e.RolesStack+".template.json")
		}
	}
	for _, f := range want {
		if !slices.Contains(files, f) {
			return fmt.Errorf("the synth artifact lacks %s", f)
		}
	}
	fmt.Printf("    and the pipeline's and roles stacks' files (%d files in all)\n", len(files))
	return nil
}

func checkApplicationTemplate(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var tmpl struct {
		Parameters map[string]any
		Resources  map[string]any
		Rules      map[string]any
	}
	if err := json.Unmarshal(data, &tmpl); err != nil {
		return fmt.Errorf("not a JSON template: %w", err)
	}
	if len(tmpl.Resources) == 0 {
		return errors.New("has no resources")
	}
	for _, p := range []string{"LambdaCodeBucket", "LambdaCodeKey"} {
		if _, ok := tmpl.Parameters[p]; !ok {
			return fmt.Errorf("lacks parameter %s, which the deploy actions fill", p)
		}
	}
	if _, ok := tmpl.Parameters["BootstrapVersion"]; ok || len(tmpl.Rules) > 0 {
		return errors.New("requires a CDK-bootstrapped account (BootstrapVersion), which prod is not")
	}
	return nil
}

// buildRIE builds the emulator pinned in the copy's go.mod for this machine.
func (r *rehearsal) buildRIE() error {
	r.rie = filepath.Join(r.dir, "bin", "aws-lambda-rie")
	cmd := exec.Command("go", "build", "-o", r.rie, rieTool)
	cmd.Dir, cmd.Stdout, cmd.Stderr = r.work, r.stdout, os.Stderr
	return cmd.Run()
}

// invokeAll runs the build for every environment of the list: the bytes the pipeline ships,
// not a host rebuild, under the emulator with qemu, checked by the smoke test's emulator check.
func (r *rehearsal) invokeAll() error {
	for _, e := range r.envs {
		fmt.Printf("    environment %s:\n", e.Name)
		if err := r.invokeZip(r.zip, e, 60*time.Second); err != nil {
			return fmt.Errorf("%s: %w", e.Name, err)
		}
	}
	return nil
}

// invokeZip runs the smoke test's emulator check against a Lambda zip as env's function,
// retrying for timeout.
func (r *rehearsal) invokeZip(zipPath string, env environment, timeout time.Duration) error {
	stage := env.Name
	task, err := os.MkdirTemp(r.dir, "task-"+stage+"-")
	if err != nil {
		return err
	}
	if err := unzip(zipPath, task); err != nil {
		return err
	}
	addr, err := freeAddress()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var logs bytes.Buffer
	emu := exec.CommandContext(ctx, r.rie, "--runtime-interface-emulator-address", addr, r.qemu, "./bootstrap")
	emu.Dir = task
	emu.Env = append(os.Environ(), "STAGE_NAME="+stage, "AWS_LAMBDA_FUNCTION_NAME="+env.AppName, "LOG_LEVEL=warn")
	emu.Stdout, emu.Stderr = &logs, &logs
	if err := emu.Start(); err != nil {
		return err
	}
	defer func() {
		_ = emu.Process.Kill()
		_ = emu.Wait()
	}()
	check := exec.CommandContext(ctx, "go", "run", "./lambda/api/smoketest", "-rie", "http://"+addr, "-stage", stage, "-timeout", timeout.String())
	check.Dir, check.Stdout, check.Stderr = r.work, r.stdout, os.Stderr
	if r.stdout != os.Stdout {
		check.Stderr = r.stdout
	}
	if err := check.Run(); err != nil {
		return fmt.Errorf("%w; emulator output:\n%s", err, logs.String())
	}
	return nil
}

func unzip(path, dir string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		dst := filepath.Join(dir, filepath.FromSlash(f.Name))
		if !strings.HasPrefix(dst, filepath.Clean(dir)+string(os.PathSeparator)) {
			return fmt.Errorf("zip entry %s escapes the folder", f.Name)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		data, err := readZipFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(dst, data, f.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

func readZipFile(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// freeAddress picks a free loopback port for the emulator.
func freeAddress() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func lookup(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// inject changes a file of the work tree for one fault and returns the function that puts it
// back. A fault that can no longer be injected (the code it edits moved) fails the rehearsal
// rather than passing it unchecked.
func (r *rehearsal) inject(file, old, new string) (restore func() error, err error) {
	path := filepath.Join(r.work, file)
	orig, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !bytes.Contains(orig, []byte(old)) {
		return nil, fmt.Errorf("cannot inject the fault: %s no longer contains %q; update the rehearsal", file, old)
	}
	if err := os.WriteFile(path, bytes.Replace(orig, []byte(old), []byte(new), 1), 0o644); err != nil {
		return nil, err
	}
	return func() error { return os.WriteFile(path, orig, 0o644) }, nil
}

// expectFailure runs a step that must fail, with its output captured; the failure must show
// want in its output, so that an unrelated breakage does not pass for the gate working.
func expectFailure(what, want string, step func(out io.Writer) error) error {
	var out bytes.Buffer
	err := step(&out)
	if err == nil {
		return fmt.Errorf("%s was not stopped: the gate let the fault through; output:\n%s", what, tail(out.String(), 40))
	}
	if !strings.Contains(out.String(), want) {
		return fmt.Errorf("%s failed, but not with %q, so the gate did not catch this fault: %v\n%s", what, want, err, tail(out.String(), 40))
	}
	fmt.Printf("    stopped as it should be: %s\n", firstLineWith(out.String(), want))
	return nil
}

// faultHandler500 builds the handler with its success status turned into a 500, packages it as
// Application_Build would, and checks that the pipeline's smoke test rejects it.
func (r *rehearsal) faultHandler500() error {
	restore, err := r.inject("lambda/api/handler.go", "jsonResponse(http.StatusOK, Greeting{", "jsonResponse(http.StatusInternalServerError, Greeting{")
	if err != nil {
		return err
	}
	defer restore()
	if err := r.runBuildspecTo(assets.ApplicationBuildspec, io.Discard); err != nil {
		return fmt.Errorf("building the faulty handler: %w", err)
	}
	base, files, err := buildspecArtifacts(assets.ApplicationBuildspec, r.work)
	if err != nil {
		return err
	}
	faulty := filepath.Join(r.dir, "LambdaBuildOutput-500.zip")
	if err := writeZip(faulty, base, files); err != nil {
		return err
	}
	err = expectFailure("a handler answering 500", "got 500", func(out io.Writer) error {
		saved := r.stdout
		r.stdout = out
		defer func() { r.stdout = saved }()
		return r.invokeZip(faulty, r.envs[0], 6*time.Second)
	})
	if err != nil {
		return err
	}
	// Put the good build back, so nothing after this step sees the faulty bootstrap.
	if err := restore(); err != nil {
		return err
	}
	return r.runBuildspecTo(assets.ApplicationBuildspec, io.Discard)
}

// faultFailingTest adds a failing unit test and checks that CDK_Synth stops at `make test`:
// the action fails and no template reaches the deploy stages.
func (r *rehearsal) faultFailingTest() error {
	const file = "lambda/api/rehearsal_fault_test.go"
	path := filepath.Join(r.work, file)
	test := "package main\n\nimport \"testing\"\n\n// Written by make rehearse to prove a failing test stops the pipeline.\n" +
		"func TestRehearsalDeliberateFault(t *testing.T) { t.Fatal(\"deliberate fault\") }\n"
	if err := os.WriteFile(path, []byte(test), 0o644); err != nil {
		return err
	}
	defer os.Remove(path)
	_, files, err := buildspecArtifacts(assets.SynthBuildspec, r.work)
	if err != nil {
		return err
	}
	out := filepath.Join(r.work, "cdk.out")
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	err = expectFailure("CDK_Synth with a failing test", "TestRehearsalDeliberateFault", func(w io.Writer) error {
		return r.runBuildspecTo(assets.SynthBuildspec, w)
	})
	if err != nil {
		return err
	}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(out, f)); err == nil {
			return fmt.Errorf("CDK_Synth failed but still produced %s, which a deploy could pick up", f)
		}
	}
	fmt.Println("    no template was synthesized, so nothing can be deployed")
	return nil
}

func tail(s string, lines int) string {
	all := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

func firstLineWith(s, want string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, want) {
			return strings.TrimSpace(l)
		}
	}
	return want
}
