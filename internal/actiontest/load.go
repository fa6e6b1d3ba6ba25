package actiontest

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// LoadError is one place where the runner would refuse to load an
// action.yml: every job that uses such an action fails at "Set up job".
type LoadError struct {
	File    string
	Line    int
	Field   string // the path of the field, like inputs.zone.description
	Problem string
}

func (e *LoadError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Problem)
}

// Load reads the action.yml at path as the runner's template reader does
// (schema.go): every `${{ }}` in it must stand in a field that allows
// expressions, name only the contexts and functions that field allows,
// be closed and not be empty. It returns the file's bytes, or every
// refusal joined, each a *LoadError naming file, line and field.
func Load(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	name := path
	if rel, err := filepath.Rel(RepoRoot(), path); err == nil && filepath.IsLocal(rel) {
		name = filepath.ToSlash(rel)
	}
	return data, Check(name, data)
}

// MustLoad is Load for a test, which fails on any refusal: no test can run
// an action the runner would not load.
func MustLoad(t testing.TB, path string) []byte {
	t.Helper()
	data, err := Load(path)
	if err != nil {
		t.Fatalf("the runner would not load this action:\n%v", err)
	}
	return data
}

// Check is Load for bytes already read; file names them in the errors.
func Check(file string, data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return &LoadError{File: file, Line: 1, Field: "(file)", Problem: err.Error()}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return &LoadError{File: file, Line: 1, Field: "(file)", Problem: "not a mapping"}
	}
	c := checker{file: file, lines: strings.Split(string(data), "\n"), using: usingKind(doc.Content[0])}
	c.walk(doc.Content[0], nil)
	return errors.Join(c.errs...)
}

// usingKind is the kind of runs.using the rules are keyed by.
func usingKind(root *yaml.Node) string {
	using := strings.ToLower(lookup(child(root, "runs"), "using"))
	switch {
	case using == "docker" || using == "composite":
		return using
	case strings.HasPrefix(using, "node"):
		return "node"
	}
	return using
}

// lookup is the scalar value of key in mapping m, or "".
func lookup(m *yaml.Node, key string) string {
	if n := child(m, key); n != nil && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

func child(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

type checker struct {
	file  string
	lines []string
	using string
	errs  []error
}

func (c *checker) walk(n *yaml.Node, path []string) {
	switch n.Kind {
	case yaml.AliasNode:
		c.walk(n.Alias, path)
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, value := n.Content[i], n.Content[i+1]
			sub := append(append([]string(nil), path...), key.Value)
			// A key is read under its mapping's definition: where the
			// values may hold an expression (env, with), so may the key.
			c.scalar(key, sub, true)
			c.walk(value, sub)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			c.walk(item, append(append([]string(nil), path...), strconv.Itoa(i)))
		}
	case yaml.ScalarNode:
		c.scalar(n, path, false)
	}
}

// scalar checks every expression in one scalar, as TemplateReader.cs
// ParseScalar splits it: from each `${{` to the first `}}` outside a
// single-quoted string.
func (c *checker) scalar(n *yaml.Node, path []string, isKey bool) {
	if n.Tag != "!!str" || !strings.Contains(n.Value, "${{") {
		return
	}
	field := strings.Join(path, ".")
	if isKey {
		field += " (its key)"
	}
	allowed := contextsAt(c.using, path)
	raw := n.Value
	for nth, start := 0, strings.Index(raw, "${{"); start >= 0; nth++ {
		line := c.lineOf(n, nth)
		end := closing(raw, start+3)
		if end < 0 {
			c.fail(line, field, fmt.Sprintf("%s: the expression is not closed with }}", abbreviate(raw[start:])))
			return
		}
		expr := raw[start : end+2]
		if problem := checkExpression(raw[start+3:end], allowed); problem != "" {
			c.fail(line, field, expr+": "+problem)
		}
		next := strings.Index(raw[end+2:], "${{")
		if next < 0 {
			return
		}
		start = end + 2 + next
	}
}

// closing is the index of the `}}` that ends the expression whose text
// starts at from, or -1.
func closing(raw string, from int) int {
	inString := false
	for i := from; i < len(raw); i++ {
		switch {
		case raw[i] == '\'':
			inString = !inString // '' inside a string toggles twice
		case !inString && raw[i] == '}' && i+1 < len(raw) && raw[i+1] == '}':
			return i
		}
	}
	return -1
}

// lineOf is the file line of the nth expression in n: counted from the
// scalar's first line, so that a block scalar's expression is found on
// the line it stands on.
func (c *checker) lineOf(n *yaml.Node, nth int) int {
	seen := 0
	for i := n.Line - 1; i >= 0 && i < len(c.lines); i++ {
		seen += strings.Count(c.lines[i], "${{")
		if seen > nth {
			return i + 1
		}
	}
	return n.Line
}

func (c *checker) fail(line int, field, problem string) {
	c.errs = append(c.errs, &LoadError{File: c.file, Line: line, Field: field, Problem: problem})
}

func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// checkExpression says what the runner would refuse in one expression's
// text, or "". allowed is the field's context list (nil: none allowed).
func checkExpression(text string, allowed []string) string {
	text = strings.TrimSpace(text)
	if text == "" {
		return "an expression was expected (the runner refuses an empty ${{ }})"
	}
	if allowed == nil {
		return "the runner allows no expression in this field (it fails to load the action: every job using it fails at Set up job); write it as plain text"
	}
	names, funcs, err := scanExpression(text)
	if err != nil {
		return err.Error()
	}
	contexts, functions := splitContexts(allowed)
	for _, name := range names {
		if !contexts[strings.ToLower(name)] {
			return fmt.Sprintf("unrecognized named-value %q: this field allows %s", name, strings.Join(allowed, ", "))
		}
	}
	for _, f := range funcs {
		arity, ok := functions[strings.ToLower(f.name)]
		if !ok {
			return fmt.Sprintf("unrecognized function %q: this field allows %s and the runner's own functions", f.name, strings.Join(allowed, ", "))
		}
		if f.args < arity[0] || f.args > arity[1] {
			return fmt.Sprintf("%s takes %d to %d arguments, not %d", f.name, arity[0], arity[1], f.args)
		}
	}
	return ""
}

// splitContexts parses a context list of schema.go into its named-values
// and its functions ("hashFiles(1,255)": name and least and most
// arguments), the runner's own functions added.
func splitContexts(allowed []string) (map[string]bool, map[string][2]int) {
	contexts := map[string]bool{}
	functions := maps.Clone(wellKnownFunctions)
	for _, a := range allowed {
		name, arity, isFunction := strings.Cut(strings.TrimSuffix(a, ")"), "(")
		if !isFunction {
			contexts[a] = true
			continue
		}
		lo, hi, _ := strings.Cut(arity, ",")
		least, _ := strconv.Atoi(lo)
		most, _ := strconv.Atoi(hi)
		functions[strings.ToLower(name)] = [2]int{least, most}
	}
	return contexts, functions
}

type call struct {
	name string
	args int
}

// scanExpression lists the named-values (the first name of each
// reference: github in github.sha) and the function calls in an
// expression, as the runner's lexer reads them (ExpressionParser.cs):
// strings in single quotes, ” an escaped quote; names after a `.` are
// properties; true, false, null, NaN and Infinity are literals.
func scanExpression(s string) (names []string, funcs []call, err error) {
	type open struct {
		call  int // index in funcs, or -1 for a group or index
		empty bool
	}
	var stack []open
	prev := byte(0) // the last significant character
	for i := 0; i < len(s); {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			i++
			continue
		case ch == '\'':
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						j++
						continue
					}
					break
				}
			}
			if j >= len(s) {
				return nil, nil, fmt.Errorf("unclosed string in %q", s)
			}
			i = j + 1
			ch = 'x'
		case isNameStart(ch):
			j := i
			for j < len(s) && isNamePart(s[j]) {
				j++
			}
			word := s[i:j]
			k := j
			for k < len(s) && s[k] == ' ' {
				k++
			}
			switch {
			case prev == '.':
				// a property: github.sha's sha
			case k < len(s) && s[k] == '(':
				funcs = append(funcs, call{name: word})
				stack = append(stack, open{call: len(funcs) - 1, empty: true})
				j = k + 1
				ch = '('
				prev = ch
				i = j
				continue
			case word == "true" || word == "false" || word == "null" || word == "NaN" || word == "Infinity":
			default:
				names = append(names, word)
			}
			i = j
			ch = 'x'
		case ch >= '0' && ch <= '9':
			for i < len(s) && (isNamePart(s[i]) || s[i] == '.') {
				i++
			}
			ch = 'x'
		case ch == '(' || ch == '[':
			stack = append(stack, open{call: -1})
			i++
		case ch == ')' || ch == ']':
			if len(stack) == 0 {
				return nil, nil, fmt.Errorf("unexpected %q in %q", ch, s)
			}
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if top.call >= 0 && !top.empty {
				funcs[top.call].args++
			}
			i++
		case ch == ',':
			if len(stack) > 0 && stack[len(stack)-1].call >= 0 {
				funcs[stack[len(stack)-1].call].args++
			}
			i++
		default:
			i++ // operators, the dereference and the wildcard
		}
		if len(stack) > 0 && ch != '(' && ch != ',' {
			stack[len(stack)-1].empty = false
		}
		prev = ch
	}
	if len(stack) > 0 {
		return nil, nil, fmt.Errorf("unclosed parenthesis in %q", s)
	}
	return names, funcs, nil
}

func isNameStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isNamePart(c byte) bool {
	return isNameStart(c) || c == '-' || (c >= '0' && c <= '9')
}
