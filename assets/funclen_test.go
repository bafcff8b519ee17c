package assets

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// maxFunctionLines is how long a function may be, from its first line to its closing brace:
// what a reader can hold while checking it, and short enough that a function does one thing.
const maxFunctionLines = 80

// A function longer than a reader can hold hides the order of what it builds; issue 16 caps
// every function in stacks/ and assets/ so the next one is split while it is still easy to.
// Test files are exempt: a table of cases reads top to bottom.
func TestNoFunctionLongerThan80Lines(t *testing.T) {
	for _, root := range []string{"../stacks", "../assets"} {
		files := 0
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			files++
			funcs, err := goFunctionLengths(path)
			assert.NoError(t, err, "%s must parse to be measured", repoPath(path))
			for _, f := range funcs {
				if f.lines > maxFunctionLines {
					t.Errorf("%s:%d: %s is %d lines, more than %d; split it along what it builds",
						repoPath(path), f.line, f.name, f.lines, maxFunctionLines)
				}
			}
			return nil
		})
		require.NoError(t, err, root)
		assert.Positive(t, files, "%s has Go files to measure; a wrong path would pass every function", root)
	}

	scripts, err := filepath.Glob("*.js")
	require.NoError(t, err)
	assert.Contains(t, scripts, ReviewScript, "the JavaScript in assets/ is measured too")
	for _, script := range scripts {
		src, err := os.ReadFile(script)
		require.NoError(t, err)
		funcs, err := jsFunctionLengths(string(src))
		if !assert.NoError(t, err, script) {
			continue
		}
		assert.NotEmpty(t, funcs, "%s: no top-level function found; the scanner no longer reads this file", script)
		for _, f := range funcs {
			if f.lines > maxFunctionLines {
				t.Errorf("assets/%s:%d: %s is %d lines, more than %d; split it along what it builds",
					script, f.line, f.name, f.lines, maxFunctionLines)
			}
		}
	}
}

// funcLength is where a function starts and how many lines it spans, its closing brace included.
type funcLength struct {
	name  string
	line  int
	lines int
}

// goFunctionLengths measures every function and method declared in a Go file, naming methods
// with their receiver type ((*rehearsal).shims) so two methods of the same name are told apart.
func goFunctionLengths(path string) ([]funcLength, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var funcs []funcLength
	for _, decl := range file.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok {
			continue
		}
		name := fn.Name.Name
		if fn.Recv != nil && len(fn.Recv.List) > 0 {
			name = "(" + types.ExprString(fn.Recv.List[0].Type) + ")." + name
		}
		start, end := fset.Position(fn.Pos()).Line, fset.Position(fn.End()).Line
		funcs = append(funcs, funcLength{name: name, line: start, lines: end - start + 1})
	}
	return funcs, nil
}

// repoPath names a file the way a reader finds it: from the repository's root.
func repoPath(path string) string {
	if rel, err := filepath.Rel("..", path); err == nil {
		return filepath.ToSlash(rel)
	}
	return path
}

// jsFunctionStart finds top-level function declarations: those that start a line.
var jsFunctionStart = regexp.MustCompile(`(?m)^(?:async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)\s*\(`)

// jsFunctionLengths measures the top-level function declarations of a script, from the
// function keyword to the brace that closes its body. Braces count only in code: jsCode blanks
// out comments, strings, template literals and regular expressions first.
func jsFunctionLengths(src string) ([]funcLength, error) {
	code := jsCode(src)
	var funcs []funcLength
	for _, m := range jsFunctionStart.FindAllStringSubmatchIndex(code, -1) {
		name := code[m[2]:m[3]]
		params := matching(code, m[1]-1, '(', ')')
		if params < 0 {
			return nil, &jsScanError{name, "its parameters"}
		}
		open := strings.IndexByte(code[params:], '{')
		if open < 0 {
			return nil, &jsScanError{name, "its body"}
		}
		end := matching(code, params+open, '{', '}')
		if end < 0 {
			return nil, &jsScanError{name, "the end of its body"}
		}
		line := strings.Count(code[:m[0]], "\n") + 1
		funcs = append(funcs, funcLength{name: name, line: line, lines: strings.Count(code[m[0]:end], "\n") + 1})
	}
	return funcs, nil
}

// jsScanError says which function the scanner lost its way in, so a failure is not mistaken
// for a function that is short enough.
type jsScanError struct{ function, what string }

func (e *jsScanError) Error() string {
	return "cannot find " + e.what + " of function " + e.function + "; the brace counting needs to learn a new construct"
}

// matching returns the offset of the bracket that closes the one at code[at], or -1.
func matching(code string, at int, open, close byte) int {
	depth := 0
	for i := at; i < len(code); i++ {
		switch code[i] {
		case open:
			depth++
		case close:
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// jsCode returns a script with what is not code blanked out: comments, strings, the text of
// template literals (their ${} expressions stay code) and regular expressions. Newlines stay,
// so offsets and line numbers still point into the script.
func jsCode(src string) string {
	out := []byte(src)
	blank := func(from, to int) {
		for k := from; k < to && k < len(out); k++ {
			if out[k] != '\n' {
				out[k] = ' '
			}
		}
	}
	var templates []int // brace depth in each ${} expression the scan is inside, innermost last
	prev := byte(';')   // the last code character: after a value, a slash divides
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case strings.HasPrefix(src[i:], "//"):
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src) - i
			}
			blank(i, i+end)
			i += end
			continue
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				end = len(src) - i - 4
			}
			blank(i, i+end+4)
			i += end + 4
			continue
		case c == '"' || c == '\'':
			end := quoted(src, i+1, c)
			blank(i, end)
			i, prev = end, c
			continue
		case c == '`' || (c == '}' && len(templates) > 0 && templates[len(templates)-1] == 0):
			if c == '}' {
				templates = templates[:len(templates)-1]
			}
			end, opened := templateText(src, i+1)
			if opened {
				templates = append(templates, 0)
			}
			blank(i, end)
			i, prev = end, '`'
			continue
		case c == '/' && startsRegexp(src[:i], prev):
			if end := regexpEnd(src, i+1); end > 0 {
				blank(i, end)
				i, prev = end, '/'
				continue
			}
		case c == '{' && len(templates) > 0:
			templates[len(templates)-1]++
		case c == '}' && len(templates) > 0:
			templates[len(templates)-1]--
		}
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			prev = c
		}
		i++
	}
	return string(out)
}

// quoted returns the offset just past the quote that closes a string whose text starts at i.
func quoted(src string, i int, quote byte) int {
	for ; i < len(src) && src[i] != quote && src[i] != '\n'; i++ {
		if src[i] == '\\' {
			i++
		}
	}
	return min(i+1, len(src))
}

// templateText returns the offset just past the end of a template literal's text that starts
// at i: past the closing backquote, or past a ${ that opens an expression (opened).
func templateText(src string, i int) (int, bool) {
	for ; i < len(src); i++ {
		switch {
		case src[i] == '\\':
			i++
		case src[i] == '`':
			return i + 1, false
		case strings.HasPrefix(src[i:], "${"):
			return i + 2, true
		}
	}
	return len(src), false
}

// startsRegexp tells a slash that starts a regular expression from one that divides, by what
// comes before it: an operator, an opening bracket or a keyword such as return.
func startsRegexp(before string, prev byte) bool {
	if strings.IndexByte("(,=:[!&|?{};+-*%<>~^", prev) >= 0 {
		return true
	}
	before = strings.TrimRight(before, " \t\r\n")
	word := before[strings.LastIndexFunc(before, func(r rune) bool {
		return !(r == '_' || r == '$' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	})+1:]
	switch word {
	case "return", "typeof", "case", "throw", "yield", "await", "void", "delete", "in", "of":
		return true
	}
	return false
}

// regexpEnd returns the offset just past a regular expression literal whose pattern starts at
// i, its flags included, or -1 when the line ends first (then the slash was not one).
func regexpEnd(src string, i int) int {
	class := false
	for ; i < len(src) && src[i] != '\n'; i++ {
		switch c := src[i]; {
		case c == '\\':
			i++
		case c == '[':
			class = true
		case c == ']':
			class = false
		case c == '/' && !class:
			i++
			for i < len(src) && (src[i] >= 'a' && src[i] <= 'z') {
				i++
			}
			return i
		}
	}
	return -1
}
