package config_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflare"
	"github.com/cfpurge/cloudflare-purge-action/internal/config"
)

const (
	headSHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
	before  = "0123456789abcdef0123456789abcdef01234567"
)

func changedBase() map[string]string {
	return map[string]string{"zone-id": "023e105f4ecef8ad9ca31a8372d0c353", "purge-type": "changed", "api-token": "tok",
		"url-map": "public/ => https://www.example.com/", "changed-since": before, "github-token": "ghs_tok"}
}

func runnerEnv() map[string]string {
	return map[string]string{"GITHUB_REPOSITORY": "octo-org/site", "GITHUB_SHA": headSHA, "GITHUB_API_URL": "https://ghes.example.com/api/v3/"}
}

func TestChangedIsAFilesPurgeUntilTheChangesAreKnown(t *testing.T) {
	t.Parallel()
	cfg, err := load(t, with(changedBase(), "purge-type", "Changed", "purge-everything-when", "layouts/**\n**/*.css", "max-changed", "40"), runnerEnv(), "")
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Changed
	if cfg.PurgeType != cloudflare.Files || cfg.Targets != nil || c == nil || cfg.BatchSize != 100 {
		t.Fatalf("config = %+v", cfg)
	}
	if c.Since != before || c.Head != headSHA || c.Repository != "octo-org/site" || c.GitHubAPIURL != "https://ghes.example.com/api/v3" ||
		c.GitHubToken != "ghs_tok" || c.Max != 40 || len(c.Rules) != 1 || c.Rules[0].Path != "public" || len(c.Patterns) != 2 || c.FilesGiven {
		t.Errorf("changed = %+v", c)
	}
}

func TestChangedDefaults(t *testing.T) {
	t.Parallel()
	in := changedBase()
	delete(in, "github-token") // the runner's default is ${{ github.token }}, unexpanded here
	extra := runnerEnv()
	delete(extra, "GITHUB_API_URL")
	extra["GITHUB_TOKEN"] = "ghs_from_env"
	cfg, err := load(t, in, extra, "")
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.Changed; c.Max != 500 || c.GitHubAPIURL != config.DefaultGitHubAPIURL || c.GitHubToken != "ghs_from_env" {
		t.Errorf("changed = %+v; want max 500, api.github.com and GITHUB_TOKEN", c)
	}
}

func TestChangedFilesAndNewBranchesNeedNoRunnerEnv(t *testing.T) {
	t.Parallel()
	for _, in := range []map[string]string{
		with(changedBase(), "changed-since", "", "changed-files", "public/a.html\n\n  ./public/b.css  \n"),
		with(changedBase(), "changed-since", "0000000000000000000000000000000000000000"),
		with(changedBase(), "changed-since", ""),
	} {
		cfg, err := load(t, in, nil, "")
		if err != nil {
			t.Fatalf("%v: %v", in, err)
		}
		c := cfg.Changed
		if in["changed-files"] != "" && (!c.FilesGiven || !reflect.DeepEqual(c.Files, []string{"public/a.html", "public/b.css"})) {
			t.Errorf("files = %q", c.Files)
		}
		if in["changed-files"] == "" && !c.NewBranch() {
			t.Errorf("%q is not a new branch", c.Since)
		}
	}
}

func TestChangedRefusesBadInputs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		in    map[string]string
		extra map[string]string
		input string
		want  string
	}{
		{"no url-map", with(changedBase(), "url-map", ""), runnerEnv(), "url-map", "is required with purge-type changed"},
		{"bad rule", with(changedBase(), "url-map", "public/ => https://a.example/\npublic/ https://b.example/"), runnerEnv(), "url-map", "line 2:"},
		{"bad pattern", with(changedBase(), "purge-everything-when", "[a-z].css"), runnerEnv(), "purge-everything-when", "line 1:"},
		{"max-changed 0", with(changedBase(), "max-changed", "0"), runnerEnv(), "max-changed", "not a whole number from 1 to 100000"},
		{"both sources", with(changedBase(), "changed-files", "a.html"), runnerEnv(), "changed-files", "together with changed-since"},
		{"targets too", with(changedBase(), "targets", "https://www.example.com/"), runnerEnv(), "targets", "must be empty when purge-type is changed"},
		{"bad ref", with(changedBase(), "changed-since", "main..evil"), runnerEnv(), "changed-since", "is not a commit"},
		{"option ref", with(changedBase(), "changed-since", "-x"), runnerEnv(), "changed-since", "is not a commit"},
		{"no GITHUB_SHA", changedBase(), map[string]string{"GITHUB_REPOSITORY": "o/r"}, "changed-since", "needs GITHUB_SHA"},
		{"no GITHUB_REPOSITORY", changedBase(), map[string]string{"GITHUB_SHA": headSHA}, "changed-since", "needs GITHUB_REPOSITORY"},
		{"clear-text API", changedBase(), with(runnerEnv(), "GITHUB_API_URL", "http://ghes.example.com/api/v3"), "changed-since", "needs GITHUB_API_URL"},
		{"token with a line break", with(changedBase(), "github-token", "ghs_a\nb"), runnerEnv(), "github-token", "white space"},
		{"url-map with files", with(base(), "purge-type", "files", "targets", "https://a.example/", "url-map", "a/ => https://a.example/"), nil, "url-map", "read only with purge-type: changed"},
		{"max-changed with tags", with(base(), "max-changed", "10"), nil, "max-changed", "read only with purge-type: changed"},
		{"changed-since with tags", with(base(), "changed-since", before), nil, "changed-since", "read only with purge-type: changed"},
	} {
		_, err := load(t, tc.in, tc.extra, "")
		if got := problems(t, err)[tc.input]; !strings.Contains(got, tc.want) {
			t.Errorf("%s: problem for %s = %q; want %q (all: %v)", tc.name, tc.input, got, tc.want, err)
		}
	}
}

func TestValidRefs(t *testing.T) {
	t.Parallel()
	for _, ref := range []string{"main", "feature/x-1", "v1.2.3", "release_2026", headSHA} {
		if _, err := load(t, with(changedBase(), "changed-since", ref), runnerEnv(), ""); err != nil {
			t.Errorf("%q refused: %v", ref, err)
		}
	}
	for _, ref := range []string{"a b", "a..b", "/main", "main/", ".hidden", "x.lock", "a//b", "a:b", "a%2fb", "a\tb"} {
		if _, err := load(t, with(changedBase(), "changed-since", ref), runnerEnv(), ""); err == nil {
			t.Errorf("%q accepted", ref)
		}
	}
}

func TestGitHubTokenIsASecret(t *testing.T) {
	t.Parallel()
	_, in, _ := loadAll(nil, config.Env{Getenv: env(changedBase(), runnerEnv()), Spec: spec(t), WorkDir: t.TempDir()})
	if got := in.Secrets(func(string) string { return "" }); !reflect.DeepEqual(got, []string{"tok", "ghs_tok"}) {
		t.Errorf("Secrets = %q", got)
	}
}
