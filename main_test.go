//go:build unix

package main_test

// A handful of runs of the built binary exactly as the runner starts it: a
// process with only the step's environment, in real time, over a real
// socket. Everything else about the whole command is tested in-process in
// internal/command.

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/actiontest"
	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
)

const (
	zone  = "023e105f4ecef8ad9ca31a8372d0c353"
	token = "cfut_Xq8e2Tk3mP9vLr4NcW7yHs1BdF6gJz0AaQeRtYuIoPl_4f2a"
)

var binary actiontest.Binary

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cpa-main")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary.Path, err = actiontest.Build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "building the action:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func inputs(fake *cloudflaretest.Server, kv ...string) map[string]string {
	m := map[string]string{"zone-id": zone, "api-token": token, "api-url": fake.BaseURL()}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestBinaryPurgesAndWritesOutputs(t *testing.T) {
	t.Parallel()
	fake := cloudflaretest.New()
	defer fake.Close()
	r := actiontest.Run(t, binary, actiontest.Step{
		Inputs: inputs(fake, "purge-type", "files", "targets-file", "urls.txt"),
		Files:  map[string]string{"urls.txt": "https://www.example.com/a\nhttps://www.example.com/b\n"},
	})
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	want := map[string]string{"purge-id": cloudflaretest.ID(0), "purge-ids": `["` + cloudflaretest.ID(0) + `"]`, "count": "2",
		"results":  `[{"zone-id":"` + zone + `","zone":"","environment-id":"","purge-ids":["` + cloudflaretest.ID(0) + `"],"count":2,"failed":0,"verified":0,"stale":0,"broken":0,"warmed":0}]`,
		"verified": "0", "stale": "0", "broken": "0", "warmed": "0"}
	if fmt.Sprint(r.Outputs) != fmt.Sprint(want) {
		t.Errorf("outputs = %v, want %v", r.Outputs, want)
	}
	reqs := fake.Requests()
	if len(reqs) != 1 || reqs[0].Header.Get("User-Agent") != "cloudflare-purge-action/"+actiontest.Version {
		t.Errorf("requests = %+v", reqs)
	}
	actiontest.AssertSecretsOnlyMasked(t, r, false, token)
}

// The checks after the purge, as the runner starts the binary: the fake
// API's edge on loopback is the site; it never sees the token. (Stale
// URLs, retried for seconds, are tested in virtual time: command.)
func TestBinaryVerifiesAndWarms(t *testing.T) {
	t.Parallel()
	fake := cloudflaretest.New(cloudflaretest.WithEdge(cloudflaretest.Page{Path: "/"}, cloudflaretest.Page{Path: "/old", Uncached: true}))
	defer fake.Close()
	site := fake.EdgeURL()
	r := actiontest.Run(t, binary, actiontest.Step{Inputs: inputs(fake, "purge-type", "files", "targets", site+"/\n"+site+"/old",
		"verify", "warn", "warm", "true")})
	if r.Code != 0 || r.Outputs["verified"] != "1" || r.Outputs["stale"] != "0" || r.Outputs["warmed"] != "2" {
		t.Fatalf("exit %d, outputs %v\n%s%s", r.Code, r.Outputs, r.Stdout, r.Stderr)
	}
	if !r.HasAnnotation("warning", "verify: not checked", site+"/old: no CF-Cache-Status") {
		t.Errorf("warnings: %+v", r.Annotations("warning"))
	}
	for _, req := range fake.EdgeRequests() {
		if req.Header.Get("Authorization") != "" || strings.Contains(fmt.Sprint(req.Header), token) {
			t.Errorf("the site got %v", req.Header)
		}
	}
	actiontest.AssertSecretsOnlyMasked(t, r, false, token)
}

func TestBinaryRefusesBadInputBeforeSending(t *testing.T) {
	t.Parallel()
	fake := cloudflaretest.New()
	defer fake.Close()
	r := actiontest.Run(t, binary, actiontest.Step{Inputs: inputs(fake, "zone-id", "", "purge-type", "everything")})
	if r.Code != 1 || len(fake.Requests()) != 0 || !r.HasAnnotation("error", "Invalid input zone-id", "is required") {
		t.Errorf("exit %d, %d requests\n%s", r.Code, len(fake.Requests()), r.Stdout)
	}
	actiontest.AssertSecretsOnlyMasked(t, r, false, token)
}

// Retry-After is honoured in real time, not only in a test's virtual one.
func TestBinaryWaitsForRetryAfter(t *testing.T) {
	t.Parallel()
	fake := cloudflaretest.New(cloudflaretest.WithScript(func(n int, _ cloudflaretest.Request) cloudflaretest.Response {
		if n == 0 {
			r := cloudflaretest.Fail(429, 971, "Please wait and consider throttling your request speed")
			r.Header = map[string]string{"Retry-After": "1"}
			return r
		}
		return cloudflaretest.OK(cloudflaretest.ID(n))
	}))
	defer fake.Close()
	r := actiontest.Run(t, binary, actiontest.Step{Inputs: inputs(fake, "purge-type", "tags", "targets", "a")})
	reqs := fake.Requests()
	if r.Code != 0 || len(reqs) != 2 {
		t.Fatalf("exit %d, %d requests\n%s", r.Code, len(reqs), r.Stdout)
	}
	if gap := reqs[1].At.Sub(reqs[0].At); gap < time.Second {
		t.Errorf("retried %v after a 429 with Retry-After: 1", gap)
	}
}

// SIGTERM (a cancelled job) ends a purge that waits on a server that
// never answers, at once, with an annotation saying so.
func TestBinaryStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	fake := cloudflaretest.New(cloudflaretest.WithScript(func(int, cloudflaretest.Request) cloudflaretest.Response {
		arrived <- struct{}{}
		return cloudflaretest.Response{Hang: true}
	}))
	defer fake.Close()
	b := sigtermWhen(arrived)
	r := actiontest.Run(t, b, actiontest.Step{Inputs: inputs(fake, "purge-type", "everything")})
	if r.Code != 1 || !r.HasAnnotation("error", "Cloudflare purge failed: cancelled", "run cancelled") {
		t.Errorf("exit %d\n%s", r.Code, r.Stdout)
	}
	if !strings.Contains(r.Summary, "Cloudflare cache purge failed") {
		t.Errorf("summary:\n%s", r.Summary)
	}
}

// sigtermWhen runs the binary and sends it SIGTERM once a request has
// arrived at the fake (as a cancelled job does).
func sigtermWhen(arrived <-chan struct{}) actiontest.Binary {
	b := binary
	b.Started = func(cmd *exec.Cmd) {
		go func() {
			select {
			case <-arrived:
				_ = cmd.Process.Signal(syscall.SIGTERM)
			case <-time.After(20 * time.Second):
			}
		}()
	}
	return b
}

// SIGTERM during the lookups is said as what it is: the run was stopped
// while looking up the zone, not an invalid input; nothing is purged.
func TestBinaryStopsOnSIGTERMDuringLookups(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	fake := cloudflaretest.New(cloudflaretest.WithLookupScript(func(int, cloudflaretest.Request) (cloudflaretest.Response, bool) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		return cloudflaretest.Response{Hang: true}, true
	}))
	defer fake.Close()
	b := sigtermWhen(arrived)
	r := actiontest.Run(t, b, actiontest.Step{Inputs: inputs(fake, "zone-id", "", "zone", "example.com", "purge-type", "everything")})
	if r.Code != 1 || len(fake.Requests()) != 0 ||
		!r.HasAnnotation("error", "zone", `stopped while looking up "example.com": the run was cancelled`) || strings.Contains(r.Stdout, "fix the input") {
		t.Errorf("exit %d, %d requests\n%s", r.Code, len(fake.Requests()), r.Stdout)
	}
}

// A FIFO as targets-file would block an open until a writer comes: it
// is refused at once instead, before anything is sent.
func TestBinaryRefusesAFIFOAtOnce(t *testing.T) {
	t.Parallel()
	fake := cloudflaretest.New()
	defer fake.Close()
	r := actiontest.Run(t, actiontest.Binary{Path: binary.Path, Timeout: 10 * time.Second}, actiontest.Step{
		Inputs: inputs(fake, "purge-type", "files", "targets-file", "urls.fifo"),
		Setup: func(t testing.TB, workspace string) {
			if err := syscall.Mkfifo(workspace+"/urls.fifo", 0o644); err != nil {
				t.Fatal(err)
			}
		},
	})
	if r.Code != 1 || len(fake.Requests()) != 0 || !r.HasAnnotation("error", "Invalid input targets-file", "is not a regular file but a named pipe") {
		t.Errorf("exit %d, %d requests\n%s", r.Code, len(fake.Requests()), r.Stdout)
	}
}

// BenchmarkTargetsFileMemory measures the binary's peak memory reading a
// 64 MiB targets-file: one of valid URLs, as a dry run that plans every
// request, and one of invalid lines. The goal is under 4 × the file plus
// 64 MiB; it fails above that.
//
//	go test -run '^$' -bench TargetsFileMemory -benchtime 1x .
//
// The peak is the process's VmHWM (Linux), read while it runs: the rusage
// of a child counts the memory of the test process it was forked from.
func BenchmarkTargetsFileMemory(b *testing.B) {
	const size = 64 << 20
	for _, tc := range []struct {
		name, line string
		wantCode   int
	}{
		{"valid-urls", "https://www.example.com/assets/%07d.css\n", 0},
		{"invalid-lines", "/relative/%07d\n", 1},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var text strings.Builder
			for i := 0; text.Len() < size-64; i++ {
				fmt.Fprintf(&text, tc.line, i)
			}
			for b.Loop() {
				peak := make(chan int64, 1)
				run := actiontest.Binary{Path: binary.Path, Timeout: 5 * time.Minute, Started: func(cmd *exec.Cmd) {
					go func() { peak <- actiontest.WatchPeak(cmd.Process.Pid) }()
				}}
				r := actiontest.Run(b, run, actiontest.Step{
					Inputs: map[string]string{"zone-id": zone, "purge-type": "files", "targets-file": "urls.txt", "dry-run": "true", "timeout": "10h"},
					Files:  map[string]string{"urls.txt": text.String()},
				})
				if r.Code != tc.wantCode {
					b.Fatalf("exit %d, want %d\n%.2000s", r.Code, tc.wantCode, r.Stdout)
				}
				p := <-peak
				b.ReportMetric(float64(p)/(1<<20), "peak-MiB")
				b.ReportMetric(float64(p)/float64(text.Len()), "peak/file")
				if goal := int64(4*text.Len() + 64<<20); p > goal {
					b.Errorf("peak memory %d MiB, over the goal of %d MiB", p>>20, goal>>20)
				}
			}
		})
	}
}
