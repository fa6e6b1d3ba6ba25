package changed_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/changed"
	"github.com/cfpurge/cloudflare-purge-action/internal/githubtest"
)

// compareFake runs one comparison in memory, in a synctest bubble, and
// returns the fake with what it saw.
func compareFake(t *testing.T, base, head string, opts ...githubtest.Option) (changed.Comparison, *githubtest.Server, error) {
	t.Helper()
	var c changed.Comparison
	var err error
	var fake *githubtest.Server
	synctest.Test(t, func(t *testing.T) {
		fake = githubtest.NewInMemory(repo, append([]githubtest.Option{githubtest.WithToken(ghToken)}, opts...)...)
		c, err = client(fake, fake.Client()).Compare(t.Context(), base, head)
	})
	return c, fake, err
}

func withStatus(status string, fs []githubtest.File) []githubtest.File {
	for i := range fs {
		fs[i].Status = status
	}
	return fs
}

func names(fs ...[]githubtest.File) []string {
	var out []string
	for _, list := range fs {
		for _, f := range list {
			out = append(out, f.Name)
		}
	}
	slices.Sort(out)
	return out
}

// treeURL is the path of the request for the tree of commit sha.
func treeURL(sha string) string {
	return "/api/v3/repos/octo-org/site/git/trees/" + sha + "?recursive=1"
}

// GitHub's compare API lists at most 300 files: from 300 on, the list
// may be cut, so the trees of the base and the head are read, two
// requests, and diffed. Below 300 the list is whole.
func TestThreeHundredFilesOrMoreAreReadFromTheTrees(t *testing.T) {
	t.Parallel()
	modified, added := files(200, "public/m%03d.html"), withStatus("added", files(200, "public/a%03d.css"))
	removed := withStatus("removed", files(50, "public/r%02d.js"))
	// The walk of old stopped at 150 commits and at 3,000 files a
	// commit: the trees know no such bound.
	many := [][]githubtest.File{withStatus("added", files(3001, "big/%04d.txt"))}
	for i := range 150 {
		many = append(many, files(2, fmt.Sprintf("c%03d/%%d.html", i)))
	}
	for _, tc := range []struct {
		name      string
		commits   [][]githubtest.File
		opts      []githubtest.Option
		want      []string
		fromTrees bool
	}{
		{"450 in three commits", [][]githubtest.File{modified, added, removed}, nil, names(modified, added, removed), true},
		{"300", [][]githubtest.File{modified, added[:100]}, nil, names(modified, added[:100]), true},
		{"299", [][]githubtest.File{modified, added[:99]}, nil, append(names(modified), names(added[:99])...), false},
		{"151 commits, one of 3,001 files", many, nil, names(many...), true},
		// A list of 300 may be cut whatever total_commits says.
		{"300 and no commit counted", [][]githubtest.File{modified, added}, []githubtest.Option{githubtest.WithListedCommits(0)}, names(modified, added), true},
	} {
		h := history(tc.commits...)
		last := githubtest.SHA(len(tc.commits))
		c, fake, err := compareFake(t, githubtest.SHA(0), last, append([]githubtest.Option{githubtest.WithCommits(h...)}, tc.opts...)...)
		if err != nil || c.Everything != "" || c.FromTrees != tc.fromTrees || c.Status != "ahead" {
			t.Fatalf("%s: Compare = status %q, everything %q, from trees %v, %v; want from trees %v", tc.name, c.Status, c.Everything, c.FromTrees, err, tc.fromTrees)
		}
		if !slices.Equal(c.Paths, tc.want) {
			t.Errorf("%s: %d paths; want exactly the %d changed", tc.name, len(c.Paths), len(tc.want))
		}
		reqs := fake.Requests()
		wantPaths := []string{"/api/v3/repos/octo-org/site/compare/" + githubtest.SHA(0) + "..." + last + "?per_page=100&page=1"}
		if tc.fromTrees {
			wantPaths = append(wantPaths, treeURL(githubtest.SHA(0)), treeURL(last))
		}
		var got []string
		for _, r := range reqs {
			got = append(got, r.Path)
			if r.Host != "127.0.0.2:9" || r.Header.Get("Authorization") != "Bearer "+ghToken {
				t.Errorf("%s: request to %s%s with %q", tc.name, r.Host, r.Path, r.Header.Get("Authorization"))
			}
		}
		if !slices.Equal(got, wantPaths) || c.Requests != len(wantPaths) || fake.TreeRequests() != len(wantPaths)-1 {
			t.Errorf("%s: requests %q (%d counted, %d for trees); want %q", tc.name, got, c.Requests, fake.TreeRequests(), wantPaths)
		}
	}
}

// The trees say what the push changed in the end: a file changed and
// changed back, or added and removed, is no change; a rename is its old
// path and its new; a submodule moved is its path, as the compare API
// lists it; a folder is none (its files are).
func TestTreesGiveTheNetChange(t *testing.T) {
	t.Parallel()
	filler := withStatus("added", files(300, "public/f%03d.css"))
	base := []githubtest.File{
		{Name: "public/keep.html", Status: "added", Content: "keep"},
		{Name: "public/back.html", Status: "added", Content: "v1"},
		{Name: "public/old.html", Status: "added", Content: "moved"},
		{Name: "vendor/theme", Status: "added", Content: "c1", Submodule: true},
		{Name: "public/docs/guide.html", Status: "added", Content: "guide"},
	}
	push := append([]githubtest.File{
		{Name: "public/back.html", Status: "modified", Content: "v2"},
		{Name: "public/new.html", Status: "renamed", Previous: "public/old.html"},
		{Name: "public/tmp.html", Status: "added"},
		{Name: "vendor/theme", Status: "modified", Content: "c2", Submodule: true},
		{Name: "public/docs/guide.html", Status: "modified", Content: "guide 2"},
	}, filler...)
	undo := []githubtest.File{
		{Name: "public/back.html", Status: "modified", Content: "v1"},
		{Name: "public/tmp.html", Status: "removed"},
	}
	h := []githubtest.Commit{{SHA: githubtest.SHA(0), Files: base}, {SHA: githubtest.SHA(1), Files: push}, {SHA: githubtest.SHA(2), Files: undo}}
	c, fake, err := compareFake(t, githubtest.SHA(0), githubtest.SHA(2), githubtest.WithCommits(h...))
	others := []string{"public/docs/guide.html", "public/new.html", "public/old.html", "vendor/theme"}
	want := append(names(filler), others...)
	slices.Sort(want)
	if err != nil || c.Everything != "" || !c.FromTrees || !slices.Equal(c.Paths, want) {
		t.Errorf("Compare = everything %q, from trees %v, %v, %d paths, less the filler %q; want the 300 filler and %q", c.Everything, c.FromTrees, err,
			len(c.Paths), slices.DeleteFunc(slices.Clone(c.Paths), func(p string) bool { return strings.HasPrefix(p, "public/f") }), others)
	}
	if n := fake.TreeRequests(); n != 2 {
		t.Errorf("%d tree requests; want 2", n)
	}
}

// What the trees cannot say exactly purges everything, saying why: a
// tree GitHub cut (truncated), one larger than MaxTreeBytes, one gone
// since the comparison named its commit (a force-push during the run).
// A cut base stops before the head's tree is asked for.
func TestTreesThatCannotBeReadWholePurgeEverything(t *testing.T) {
	t.Parallel()
	base, head := githubtest.SHA(0), githubtest.SHA(2)
	h := history(files(200, "public/m%03d.html"), withStatus("added", files(150, "public/a%03d.css")))
	cut := "so which files changed beyond the 300 its comparison lists cannot be known"
	for _, tc := range []struct {
		name  string
		opt   githubtest.Option
		want  string
		trees int
	}{
		{"base truncated", githubtest.WithTruncatedTree(base),
			"GitHub's tree of the base commit " + base + " is truncated (GitHub lists at most 100,000 entries and 7 MB of a tree), " + cut, 1},
		{"head truncated", githubtest.WithTruncatedTree(head),
			"GitHub's tree of the head commit " + head + " is truncated (GitHub lists at most 100,000 entries and 7 MB of a tree), " + cut, 2},
		{"base gone", githubtest.WithTreeNotFound(base),
			"GitHub finds no tree for the base commit " + base + " that its comparison named (a force-push during the run may have removed it), " + cut, 1},
		{"head gone", githubtest.WithTreeNotFound(head),
			"GitHub finds no tree for the head commit " + head + " that its comparison named (a force-push during the run may have removed it), " + cut, 2},
		{"head over 7 MiB", githubtest.WithTreeBytes(head, changed.MaxTreeBytes+1),
			fmt.Sprintf("GitHub's tree of the head commit %s is larger than 7 MiB (%d bytes), the most read for one tree, %s", head, changed.MaxTreeBytes, cut), 2},
		{"head of 7 MiB", githubtest.WithTreeBytes(head, changed.MaxTreeBytes), "", 2},
	} {
		c, fake, err := compareFake(t, base, head, githubtest.WithCommits(h...), tc.opt)
		if err != nil || c.Everything != tc.want || c.Status != "ahead" {
			t.Errorf("%s: Compare = everything %q, %v\nwant everything %q", tc.name, c.Everything, err, tc.want)
		}
		if wantPaths := 350; tc.want != "" && (c.Paths != nil || c.FromTrees) || tc.want == "" && len(c.Paths) != wantPaths {
			t.Errorf("%s: %d paths, from trees %v", tc.name, len(c.Paths), c.FromTrees)
		}
		if n := fake.TreeRequests(); n != tc.trees {
			t.Errorf("%s: %d tree requests; want %d", tc.name, n, tc.trees)
		}
	}
}

// A tree request is retried as the compare is: a 502 is not a reason to
// purge everything, nor a failure.
func TestTreeRequestsAreRetried(t *testing.T) {
	t.Parallel()
	h := history(files(300, "public/m%03d.html"))
	synctest.Test(t, func(t *testing.T) {
		fake := githubtest.NewInMemory(repo, githubtest.WithCommits(h...),
			githubtest.WithScript(githubtest.Response{}, githubtest.Response{Status: 502, Body: "bad gateway"}))
		start := time.Now()
		c, err := client(fake, fake.Client()).Compare(t.Context(), githubtest.SHA(0), githubtest.SHA(1))
		if err != nil || c.Everything != "" || len(c.Paths) != 300 || !c.FromTrees {
			t.Errorf("Compare = %d paths, everything %q, %v", len(c.Paths), c.Everything, err)
		}
		if n, took := fake.TreeRequests(), time.Since(start); n != 3 || took != time.Second || c.Requests != 4 {
			t.Errorf("%d tree requests (%d counted in all) in %s; want the base's twice, one second apart, then the head's", n, c.Requests, took)
		}
	})
}

// A tree answer is untrusted: an entry without a SHA, or a path listed
// twice with two objects, counts as changed whatever the other tree
// says; a file name is listed as it is (mapping refuses what is unsafe);
// folders and entries without a path are not paths. The merge base goes
// into a URL in lower case, and the head must be a SHA.
func TestTreeAnswersAreUntrusted(t *testing.T) {
	t.Parallel()
	one, two := strings.Repeat("a1", 20), strings.Repeat("b2", 20)
	tree := func(entries ...string) githubtest.Response {
		return githubtest.Response{Status: 200, Body: `{"tree":[` + strings.Join(entries, ",") + `],"truncated":false}`}
	}
	entry := func(path, typ, sha string) string {
		return fmt.Sprintf(`{"path":%q,"type":%q,"sha":%q}`, path, typ, sha)
	}
	h := history(files(300, "public/m%03d.html"))
	c, _, err := compareFake(t, githubtest.SHA(0), githubtest.SHA(1), githubtest.WithCommits(h...), githubtest.WithScript(githubtest.Response{},
		tree(entry("same", "blob", one), entry("twice", "blob", one), entry("twice", "blob", two), entry("no-sha", "blob", ""),
			entry("", "blob", one), entry("dir", "tree", one), entry("x\n::error::y.html", "blob", one), entry("again", "blob", one), entry("again", "blob", one)),
		tree(entry("same", "blob", strings.ToUpper(one)), entry("twice", "blob", one), entry("twice", "blob", two), entry("no-sha", "blob", ""),
			entry("", "blob", two), entry("dir", "tree", two), entry("x\n::error::y.html", "blob", two), entry("again", "blob", one))))
	want := []string{"no-sha", "twice", "x\n::error::y.html"}
	if err != nil || c.Everything != "" || !slices.Equal(c.Paths, want) {
		t.Errorf("Compare = %q, everything %q, %v; want %q", c.Paths, c.Everything, err, want)
	}

	c, _, err = compareFake(t, githubtest.SHA(0), githubtest.SHA(1), githubtest.WithCommits(h...), githubtest.WithScript(githubtest.Response{}, githubtest.Response{Status: 200, Body: "<html>"}))
	if err == nil || !strings.Contains(err.Error(), "not the JSON the API documents") || c.Everything != "" {
		t.Errorf("a tree not JSON: %+v, %v; want a failure", c.Everything, err)
	}

	// The compare's merge base in capitals names the same commit.
	capitals := fmt.Sprintf(`{"status":"ahead","merge_base_commit":{"sha":%q},"files":%s}`, strings.ToUpper(githubtest.SHA(0)), fileList(300))
	c, fake, err := compareFake(t, githubtest.SHA(0), githubtest.SHA(1), githubtest.WithCommits(h...), githubtest.WithScript(githubtest.Response{Status: 200, Body: capitals}))
	if err != nil || c.Everything != "" || len(c.Paths) != 300 || fake.Requests()[1].Path != treeURL(githubtest.SHA(0)) {
		t.Errorf("merge base in capitals: %d paths, everything %q, %v", len(c.Paths), c.Everything, err)
	}

	c, fake, err = compareFake(t, githubtest.SHA(0), "main", githubtest.WithCommits(h...), githubtest.WithScript(githubtest.Response{Status: 200, Body: capitals}))
	if err == nil || err.Error() != `the head "main" is not a commit SHA, so its tree cannot be read` || len(fake.Requests()) != 1 {
		t.Errorf("head main: %+v, %v after %d requests; want a failure before any tree", c, err, len(fake.Requests()))
	}
}

// The paths the trees give are bounded as the compare's are. (Entries
// without a SHA count as changed whatever the other tree says: the
// smallest answers that change that many paths.)
func TestTreesOfTooManyChangesPurgeEverything(t *testing.T) {
	t.Parallel()
	tree := func(folder string, n int) githubtest.Response {
		var b strings.Builder
		b.WriteString(`{"truncated":false,"tree":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"path":"%s/%d","type":"blob"}`, folder, i)
		}
		b.WriteString("]}")
		return githubtest.Response{Status: 200, Body: b.String()}
	}
	h := history(files(300, "public/m%03d.html"))
	half := changed.MaxPaths / 2
	for _, tc := range []struct {
		head githubtest.Response
		want string
	}{
		{tree("b", half+1), fmt.Sprintf("more than %d changed paths", changed.MaxPaths)},
		{tree("b", half), ""},
	} {
		c, _, err := compareFake(t, githubtest.SHA(0), githubtest.SHA(1), githubtest.WithCommits(h...),
			githubtest.WithScript(githubtest.Response{}, tree("a", half), tc.head))
		if err != nil || c.Everything != tc.want || tc.want == "" && len(c.Paths) != changed.MaxPaths {
			t.Errorf("Compare = %d paths, everything %q, %v; want everything %q", len(c.Paths), c.Everything, err, tc.want)
		}
	}
}
