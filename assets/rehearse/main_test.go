package main

import (
	"archive/zip"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

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
