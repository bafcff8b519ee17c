package main

import (
	"archive/zip"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/crossaccount/cross-account-pipeline/stacks/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// elfHeader returns a minimal 64-bit little-endian ELF executable header for a machine.
func elfHeader(machine uint16) []byte {
	h := make([]byte, 64)
	copy(h, []byte{0x7f, 'E', 'L', 'F', 2, 1, 1})
	binary.LittleEndian.PutUint16(h[16:], 2) // ET_EXEC
	binary.LittleEndian.PutUint16(h[18:], machine)
	binary.LittleEndian.PutUint32(h[20:], 1)
	binary.LittleEndian.PutUint16(h[52:], 64)
	binary.LittleEndian.PutUint16(h[54:], 56)
	binary.LittleEndian.PutUint16(h[58:], 64)
	return h
}

func zipWith(t *testing.T, name string, data []byte, mode os.FileMode) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, mode))
	path := filepath.Join(t.TempDir(), "out.zip")
	require.NoError(t, writeZip(path, dir, []string{name}))
	return path
}

func TestCheckLambdaZip(t *testing.T) {
	const aarch64, x8664 = 183, 62
	assert.NoError(t, checkLambdaZip(zipWith(t, "bootstrap", elfHeader(aarch64), 0o755)))

	err := checkLambdaZip(zipWith(t, "bootstrap", elfHeader(aarch64), 0o644))
	assert.ErrorContains(t, err, "not executable", "Lambda cannot start a bootstrap without the x bit")

	err = checkLambdaZip(zipWith(t, "bootstrap", elfHeader(x8664), 0o755))
	assert.ErrorContains(t, err, "linux/arm64", "an amd64 build would fail on the arm64 function")

	err = checkLambdaZip(zipWith(t, "main", elfHeader(aarch64), 0o755))
	assert.ErrorContains(t, err, "no bootstrap at its root")

	err = checkLambdaZip(zipWith(t, "bootstrap", []byte("#!/bin/sh\n"), 0o755))
	assert.ErrorContains(t, err, "not an ELF binary")
}

func TestWriteZipKeepsModesForUnzip(t *testing.T) {
	path := zipWith(t, "bootstrap", elfHeader(183), 0o755)
	dir := t.TempDir()
	require.NoError(t, unzip(path, dir))
	info, err := os.Stat(filepath.Join(dir, "bootstrap"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), info.Mode().Perm(), "the emulator must be able to execute the unpacked bootstrap")

	zr, err := zip.OpenReader(path)
	require.NoError(t, err)
	defer zr.Close()
	assert.Equal(t, "bootstrap", zr.File[0].Name, "the zip root holds bootstrap, not a folder")
}

func TestArtifactFiles(t *testing.T) {
	work := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(work, "cdk.out"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(work, "cdk.out", "A.template.json"), []byte("{}"), 0o644))
	spec := map[string]any{"artifacts": map[string]any{"base-directory": "cdk.out", "files": []any{"A.template.json"}}}
	base, files, err := artifactFiles(spec, work)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(work, "cdk.out"), base)
	assert.Equal(t, []string{"A.template.json"}, files)

	spec["artifacts"].(map[string]any)["files"] = []any{"A.template.json", "B.template.json"}
	_, _, err = artifactFiles(spec, work)
	assert.ErrorContains(t, err, "cdk.out/B.template.json was not produced", "the error names the missing artifact")
}

func TestCheckApplicationTemplate(t *testing.T) {
	write := func(body string) string {
		p := filepath.Join(t.TempDir(), "t.json")
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	good := `{"Parameters":{"LambdaCodeBucket":{},"LambdaCodeKey":{}},"Resources":{"F":{"Type":"AWS::Lambda::Function"}}}`
	assert.NoError(t, checkApplicationTemplate(write(good)))
	assert.ErrorContains(t, checkApplicationTemplate(write(`{"Parameters":{"LambdaCodeBucket":{},"LambdaCodeKey":{},"BootstrapVersion":{}},"Resources":{"F":{}}}`)),
		"CDK-bootstrapped")
	assert.ErrorContains(t, checkApplicationTemplate(write(`{"Parameters":{"LambdaCodeBucket":{}},"Resources":{"F":{}}}`)), "LambdaCodeKey")
	assert.ErrorContains(t, checkApplicationTemplate(write(`not json`)), "not a JSON template")
}

func TestUnzipRefusesPathsOutsideTheFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "evil.zip")
	f, err := os.Create(path)
	require.NoError(t, err)
	zw := zip.NewWriter(f)
	w, err := zw.Create("../escape")
	require.NoError(t, err)
	_, _ = w.Write([]byte("x"))
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
	assert.ErrorContains(t, unzip(path, t.TempDir()), "escapes the folder")
}

// The rehearsed push must work on whichever form of environments the repository commits: the
// pair cdk.json ships, or a list (the README's staging example) that already holds staging.
func TestAddEnvironmentEditsEitherForm(t *testing.T) {
	pair := []byte(`{"app": "x", "context": {"dev-account": "111111111111", "prod-account": "222222222222",
		"prod-approval": false, "region": "us-east-1", "branch": "main", "@aws-cdk/core:target-partitions": ["aws"]}}`)
	withList := []byte(`{"app": "x", "context": {"region": "us-east-1", "branch": "main", "app-name": "orders",
		"@aws-cdk/core:newStyleStackSynthesis": true,
		"environments": [{"name": "dev", "account": "111111111111"}, {"name": "staging", "account": "333333333333"},
			{"name": "prod", "account": "222222222222", "approval": true, "traffic": "linear",
			 "deployment-window": {"cron": "* * 9-16 ? * MON-FRI"}}]}}`)
	cases := []struct {
		name     string
		file     []byte
		want     []string // environment names after the edit
		added    string
		account  string
		appName  string
		flagKept string
	}{
		{"the pair, without prod's approval", pair, []string{"dev", "staging", "prod"}, "staging", "333333333333", "HelloLambda-staging", "@aws-cdk/core:target-partitions"},
		{"a committed list with staging", withList, []string{"dev", "staging", "qa", "prod"}, "qa", "444444444444", "orders-qa", "@aws-cdk/core:newStyleStackSynthesis"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			edited, edCfg, added, err := addEnvironment(c.file)
			require.NoError(t, err)
			assert.Equal(t, c.added, added.Name)
			assert.Equal(t, c.account, added.Account)
			assert.Equal(t, c.appName, added.AppName())

			before, err := config.CDKJSONContextRaw(writeTemp(t, c.file))
			require.NoError(t, err)
			after, err := config.CDKJSONContextRaw(writeTemp(t, edited))
			require.NoError(t, err)
			assert.Contains(t, after, c.flagKept, "feature flags stay")
			assert.NotContains(t, after, config.DevAccountKey, "one form only")
			cfgBefore, err := config.FromContext(before, before)
			require.NoError(t, err)
			cfg, err := config.FromContext(after, after)
			require.NoError(t, err, "the edited cdk.json is a valid config")
			assert.Equal(t, cfg, edCfg, "the config returned is the file's")
			var names []string
			for _, e := range cfg.Environments {
				names = append(names, e.Name)
			}
			assert.Equal(t, c.want, names)
			last := len(cfg.Environments) - 1
			assert.Equal(t, cfgBefore.Environments[len(cfgBefore.Environments)-1], cfg.Environments[last],
				"the last environment keeps its approval, traffic and window")
			assert.Equal(t, cfgBefore.AppName, cfg.AppName)
		})
	}
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cdk.json")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	return path
}
