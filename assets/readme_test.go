package assets

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README is where users copy make commands from: every target and variable it writes must
// be one the Makefile has, or the command fails (an unknown target) or silently does nothing
// (make ignores a variable no rule reads).

func TestReadmeNamesOnlyRealMakeTargets(t *testing.T) {
	readme, makefile := readText(t, "../README.md"), readText(t, "../Makefile")
	targets := makeTargets(makefile)
	named := map[string]bool{}
	for _, c := range readmeMakeCommands(readme) {
		for _, target := range c.Targets {
			named[target] = true
			if !targets[target] {
				t.Errorf("README.md:%d: `%s` names make target %q, which ../Makefile does not define (no %q line, not in a .PHONY)",
					c.Line, c.Text, target, target+":")
			}
		}
	}
	// The first screen's commands; missing ones mean the README lost them or this test's
	// reading of it broke.
	for _, target := range []string{"test", "rehearse", "deploy"} {
		assert.True(t, named[target], "the README must show `make %s` (or this test no longer finds make commands in it)", target)
	}
}

func TestReadmeNamesOnlyRealMakeVariables(t *testing.T) {
	readme, makefile := readText(t, "../README.md"), readText(t, "../Makefile")
	found := 0
	for _, c := range readmeMakeCommands(readme) {
		for _, v := range c.Vars {
			found++
			if !regexp.MustCompile(`\b` + regexp.QuoteMeta(v) + `\b`).MatchString(makefile) {
				t.Errorf("README.md:%d: `%s` sets %s, which ../Makefile never mentions: make would ignore it", c.Line, c.Text, v)
			}
		}
	}
	require.NotZero(t, found, "the README sets no make variable (REGION, ENV, ...) on any make command line: this test no longer finds them")
}

// The extraction itself: what counts as a make command, a target and a make variable, and what
// (shell variables of other commands, "make" as an English verb) does not.
func TestReadmeMakeCommandParsing(t *testing.T) {
	cases := []struct {
		name, doc      string
		targets, vars  []string
		wantLineOfLast int
	}{
		{"code span with variables and a placeholder",
			"Run `make deploy-roles ENV=staging REGION=<your region> KEY_ARN=<the pipeline's key>` once.", []string{"deploy-roles"}, []string{"ENV", "REGION", "KEY_ARN"}, 1},
		{"a span across lines, an optional variable",
			"text `make\n  deploy-roles ENV=prod [PROFILE=prod]` text", []string{"deploy-roles"}, []string{"ENV", "PROFILE"}, 1},
		{"commands chained in a span", "`make destroy && make purge && make deploy`", []string{"destroy", "purge", "deploy"}, nil, 1},
		{"quoted value with spaces", "`make bench BENCH_FLAGS=\"-runs 3 -cold-runs 2\"`", []string{"bench"}, []string{"BENCH_FLAGS"}, 1},
		{"variables given to make through its environment count", "`STAGING_PROFILE=x make deploy-roles`", []string{"deploy-roles"}, []string{"STAGING_PROFILE"}, 1},
		{"shell variables of other commands do not",
			"```sh\nexport DEV_ACCOUNT=1 REGION=eu-west-1\nGOOS=linux go build .\naws s3 ls --profile dev --region $REGION\n" +
				"make -s preflight PREFLIGHT_FLAGS=-json | jq .ready   # the make rehearse BOGUS=1 in a comment is not run\n```",
			[]string{"preflight"}, []string{"PREFLIGHT_FLAGS"}, 5},
		{"a continued line in a block", "x\n\n```sh\nmake deploy-roles \\\n  ENV=prod\n```", []string{"deploy-roles"}, []string{"ENV"}, 4},
		{"prose: hyphenated targets only, never English",
			"To make sure, make the call: make deploy-pipeline runs, and make-believe does not.", []string{"deploy-pipeline"}, nil, 1},
		{"make as a word inside other commands", "`echo make test` and `aws codecommit --profile make`", nil, nil, 0},
		{"a target-less make and placeholders", "`make` and `make ...` and the `make deploy-...` targets", nil, nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var targets, vars []string
			commands := readmeMakeCommands(c.doc)
			for _, cmd := range commands {
				targets = append(targets, cmd.Targets...)
				vars = append(vars, cmd.Vars...)
			}
			assert.Equal(t, c.targets, targets)
			assert.Equal(t, c.vars, vars)
			if c.wantLineOfLast > 0 && assert.NotEmpty(t, commands) {
				assert.Equal(t, c.wantLineOfLast, commands[len(commands)-1].Line)
			}
		})
	}
	targets := makeTargets(".PHONY: a b\nc:\nd e: f\nX := 1\nY ?= z:y\n\tg: h\n# i:\nj:: k\n")
	assert.Equal(t, map[string]bool{"a": true, "b": true, "c": true, "d": true, "e": true, "j": true}, targets)
}

func readText(t *testing.T, path string) string {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(data)
}

// makeCommand is one make command line a document shows.
type makeCommand struct {
	Line    int    // where it starts, 1-based
	Text    string // as written, for messages
	Targets []string
	// Vars are the make variables (UPPER_CASE) it sets, as arguments or in make's environment.
	Vars []string
}

var (
	fenceLine = regexp.MustCompile("^\\s*(```|~~~)")
	// Inline code: ``...`` or `...`, which may run over a line break but not a paragraph.
	codeSpan = regexp.MustCompile("(?s)``(.+?)``|`([^`]+)`")
	// In prose a make command is only recognised with a target English cannot mean: one with
	// a dash (make deploy-roles, not "make sure"). Commands belong in code spans anyway.
	proseMake    = regexp.MustCompile(`(?:^|[^\w'-])make((?:\s+--?[a-z][a-z-]*)*)\s+([a-z][a-z0-9]*(?:-[a-z0-9]+)+)\b`)
	assignment   = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=`)
	makeVariable = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	targetWord   = regexp.MustCompile(`^[a-z][a-z0-9_]*(-[a-z0-9_]+)*$`)
	// Rule lines at column 0: "targets: prerequisites", not "NAME := value".
	ruleLine = regexp.MustCompile(`(?m)^([A-Za-z0-9_.%/][A-Za-z0-9_.%/ -]*?)[ \t]*:([^=\n].*)?$`)
)

// shellSeparators end one command and start the next.
var shellSeparators = map[string]bool{"&&": true, "||": true, ";": true, "|": true, "(": true, ")": true,
	"then": true, "do": true, "else": true, "{": true, "}": true}

// makeOptionsWithArgument are make's options whose argument is the next word.
var makeOptionsWithArgument = map[string]bool{"-C": true, "-f": true, "-I": true, "-o": true, "-W": true,
	"--directory": true, "--file": true, "--makefile": true, "--include-dir": true, "--old-file": true, "--what-if": true}

// readmeMakeCommands finds the make commands of a Markdown document: in fenced blocks, in
// inline code, and (hyphenated targets only) in prose.
func readmeMakeCommands(doc string) []makeCommand {
	var out []makeCommand
	lines := strings.Split(doc, "\n")
	for i := 0; i < len(lines); {
		switch {
		case fenceLine.MatchString(lines[i]):
			marker := fenceLine.FindStringSubmatch(lines[i])[1]
			j := i + 1
			for j < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[j]), marker) {
				j++
			}
			out = append(out, blockCommands(lines[i+1:min(j, len(lines))], i+2)...)
			i = j + 1
		case strings.TrimSpace(lines[i]) == "":
			i++
		default:
			j := i
			for j < len(lines) && strings.TrimSpace(lines[j]) != "" && !fenceLine.MatchString(lines[j]) {
				j++
			}
			out = append(out, paragraphCommands(strings.Join(lines[i:j], "\n"), i+1)...)
			i = j
		}
	}
	return out
}

// blockCommands reads a fenced block as shell, joining continued lines; first is the line
// number of its first line.
func blockCommands(lines []string, first int) []makeCommand {
	var out []makeCommand
	for i := 0; i < len(lines); i++ {
		start, text := i, lines[i]
		for strings.HasSuffix(text, "\\") && i+1 < len(lines) {
			i++
			text = strings.TrimSuffix(text, "\\") + " " + lines[i]
		}
		out = append(out, shellMakeCommands(text, first+start)...)
	}
	return out
}

// paragraphCommands reads the inline code of a paragraph as shell, and its prose for
// hyphenated make targets; first is the line number of its first line.
func paragraphCommands(text string, first int) []makeCommand {
	var out []makeCommand
	lineAt := func(offset int) int { return first + strings.Count(text[:offset], "\n") }
	prose := []byte(text)
	for _, m := range codeSpan.FindAllStringSubmatchIndex(text, -1) {
		code := m[2:4]
		if code[0] < 0 {
			code = m[4:6]
		}
		out = append(out, shellMakeCommands(text[code[0]:code[1]], lineAt(m[0]))...)
		for k := m[0]; k < m[1]; k++ {
			if prose[k] != '\n' {
				prose[k] = ' '
			}
		}
	}
	for _, m := range proseMake.FindAllSubmatchIndex(prose, -1) {
		target := string(prose[m[4]:m[5]])
		out = append(out, makeCommand{Line: lineAt(m[0]), Text: "make " + target, Targets: []string{target}})
	}
	return out
}

// shellMakeCommands finds the make commands in one line of shell: make at a command's start
// (after a separator, or after variable assignments), up to a separator, a comment, or a word
// that is neither an option, an assignment nor a target.
func shellMakeCommands(line string, lineNo int) []makeCommand {
	var out []makeCommand
	words := shellWords(line)
	atStart, prefix := true, []string(nil)
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case strings.HasPrefix(w, "#"):
			return out
		case shellSeparators[w]:
			atStart, prefix = true, nil
			continue
		case !atStart:
			continue
		case assignment.MatchString(w):
			prefix = append(prefix, w)
			continue
		case w != "make":
			atStart, prefix = false, nil
			continue
		}
		cmd := makeCommand{Line: lineNo}
		for _, p := range prefix {
			if name := assignment.FindStringSubmatch(p)[1]; makeVariable.MatchString(name) {
				cmd.Vars = append(cmd.Vars, name)
			}
		}
		j := i + 1
		for ; j < len(words); j++ {
			arg := strings.TrimSuffix(strings.TrimPrefix(words[j], "["), "]")
			if m := assignment.FindStringSubmatch(arg); m != nil {
				if makeVariable.MatchString(m[1]) {
					cmd.Vars = append(cmd.Vars, m[1])
				}
				continue
			}
			if makeOptionsWithArgument[arg] {
				j++
				continue
			}
			if strings.HasPrefix(arg, "-") && arg != "-" {
				continue
			}
			if !targetWord.MatchString(arg) {
				break
			}
			cmd.Targets = append(cmd.Targets, arg)
		}
		cmd.Text = strings.Join(append(prefix, words[i:min(j, len(words))]...), " ")
		out = append(out, cmd)
		i, atStart, prefix = j-1, false, nil
	}
	return out
}

// shellWords splits a line of shell into words. A quote or a <placeholder> that starts a word or
// a value (after "=") runs to its closing character, spaces included; an apostrophe inside a
// word is a letter.
func shellWords(line string) []string {
	var words []string
	var word strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			if inWord {
				words, inWord = append(words, word.String()), false
				word.Reset()
			}
			continue
		}
		closer := map[byte]byte{'\'': '\'', '"': '"', '<': '>'}[c]
		if closer != 0 && (!inWord || strings.HasSuffix(word.String(), "=")) {
			if end := strings.IndexByte(line[i+1:], closer); end >= 0 {
				word.WriteString(line[i : i+end+2])
				i, inWord = i+end+1, true
				continue
			}
		}
		word.WriteByte(c)
		inWord = true
	}
	if inWord {
		words = append(words, word.String())
	}
	return words
}

// makeTargets lists the targets a Makefile defines: every name before the colon of a rule line
// at column 0, and every name a .PHONY line lists.
func makeTargets(makefile string) map[string]bool {
	targets := map[string]bool{}
	for _, m := range ruleLine.FindAllStringSubmatch(makefile, -1) {
		names := strings.Fields(m[1])
		if len(names) == 1 && names[0] == ".PHONY" {
			for _, name := range strings.Fields(m[2]) {
				targets[name] = true
			}
			continue
		}
		for _, name := range names {
			targets[name] = true
		}
	}
	return targets
}
