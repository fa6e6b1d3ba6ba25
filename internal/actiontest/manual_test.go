package actiontest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The manual names every input and output of action.yml: the README's
// tables, or a docs/ page linked from it. A new input that no page names
// fails here, not in a user's search.
func TestEveryInputAndOutputIsInTheManual(t *testing.T) {
	t.Parallel()
	var action struct {
		Inputs  map[string]any `yaml:"inputs"`
		Outputs map[string]any `yaml:"outputs"`
	}
	if err := yaml.Unmarshal(ActionYML(t), &action); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	manual := string(readme)
	pages, _ := filepath.Glob(filepath.Join(RepoRoot(), "docs", "*.md"))
	for _, page := range pages {
		if !strings.Contains(manual, "docs/"+filepath.Base(page)) {
			t.Errorf("README.md does not link %s", filepath.Base(page))
		}
		text, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		manual += string(text)
	}
	for kind, names := range map[string]map[string]any{"input": action.Inputs, "output": action.Outputs} {
		for name := range names {
			if !strings.Contains(manual, "`"+name+"`") {
				t.Errorf("%s %s is named nowhere in README.md or docs/ (as `%s`)", kind, name, name)
			}
		}
	}
	if n := strings.Count(string(readme), "\n"); n > 400 {
		t.Errorf("README.md has %d lines; the front page holds at most 400, the rest goes to docs/", n)
	}
}
