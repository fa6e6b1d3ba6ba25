// Package loadtest measures how close a large purge gets to the fastest
// that a rate-limited account allows. It runs the whole action in-process
// (command.Run, the real client, pacer and runner, real time) against a
// loopback fake of the API that enforces a token bucket and adds latency.
//
//	go test -run '^$' -bench . -benchtime 1x ./internal/loadtest
//
// Each case reports: ratio (achieved throughput / ideal throughput, where
// the ideal wall time is the larger of the latency bound and
// (units − bucket size) / refill rate), 429s, lost (targets not purged;
// must be 0), and the wall and ideal seconds.
package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cfpurge/cloudflare-purge-action/internal/cloudflaretest"
	"github.com/cfpurge/cloudflare-purge-action/internal/command"
)

const zone = "023e105f4ecef8ad9ca31a8372d0c353"

// defaultConcurrency is action.yml's default for the concurrency input.
const defaultConcurrency = 8

type scenario struct {
	name      string
	purgeType string
	targets   int
	batch     int
	plan      string
	latency   time.Duration
	bucket    bucketSpec
}

// bucketSpec is the fake's token bucket: size, refill a second, whether a
// files request costs one unit a URL, and whether answers carry
// Ratelimit headers.
type bucketSpec struct {
	Size, Rate       float64
	PerItem, Headers bool
}

var scenarios = []scenario{
	{
		// Business plan's tag bucket (50, refilled 10 a second), which
		// says what it is in Ratelimit headers; plan not given.
		name: "tags-10k", purgeType: "tags", targets: 10_000, batch: 100, latency: 100 * time.Millisecond,
		bucket: bucketSpec{Size: 50, Rate: 10, Headers: true},
	},
	{
		// Pro/Business URL rate, 1,500 URLs a second, answering 429 with
		// Retry-After only; one request at a time (30 URLs per 100 ms)
		// would reach a fifth of it.
		name: "urls-30k", purgeType: "files", targets: 30_000, batch: 30, latency: 100 * time.Millisecond,
		bucket: bucketSpec{Size: 1500, Rate: 1500, PerItem: true},
	},
	{
		name: "urls-30k-plan-pro", purgeType: "files", targets: 30_000, batch: 30, plan: "pro", latency: 100 * time.Millisecond,
		bucket: bucketSpec{Size: 1500, Rate: 1500, PerItem: true},
	},
	{
		// A scaled-down bucket (300 URLs, refilled 300 a second) with
		// short latency: the same shape, a fifth of the size.
		name: "urls-3k-small-bucket", purgeType: "files", targets: 3_000, batch: 30, latency: 20 * time.Millisecond,
		bucket: bucketSpec{Size: 300, Rate: 300, PerItem: true},
	},
}

func (s scenario) targetLines() string {
	lines := make([]string, s.targets)
	for i := range lines {
		if s.purgeType == "files" {
			lines[i] = fmt.Sprintf("https://www.example.com/assets/%06d.css", i)
		} else {
			lines[i] = fmt.Sprintf("tag-%06d", i)
		}
	}
	return strings.Join(lines, "\n")
}

// ideal is the shortest wall time the bucket and the latency allow.
func (s scenario) ideal() time.Duration {
	requests := (s.targets + s.batch - 1) / s.batch
	units := float64(requests)
	if s.bucket.PerItem {
		units = float64(s.targets)
	}
	bucketBound := time.Duration(max(units-s.bucket.Size, 0) / s.bucket.Rate * float64(time.Second))
	latencyBound := time.Duration(float64(s.latency) * float64(requests) / defaultConcurrency)
	return max(bucketBound, latencyBound, s.latency)
}

func BenchmarkPurge(b *testing.B) {
	for _, s := range scenarios {
		b.Run(s.name, func(b *testing.B) {
			for range b.N {
				runScenario(b, s)
			}
		})
	}
}

func runScenario(b *testing.B, s scenario) {
	bucket := cloudflaretest.Bucket{Size: s.bucket.Size, Rate: s.bucket.Rate, PerItem: s.bucket.PerItem, Headers: s.bucket.Headers}
	fake := cloudflaretest.New(cloudflaretest.WithLatency(s.latency), cloudflaretest.WithBucket(&bucket))
	defer fake.Close()
	workspace := b.TempDir()
	if err := os.WriteFile(filepath.Join(workspace, "targets.txt"), []byte(s.targetLines()), 0o644); err != nil {
		b.Fatal(err)
	}
	outputs := filepath.Join(workspace, "outputs")
	inputs := map[string]string{
		"INPUT_ZONE-ID": zone, "INPUT_API-TOKEN": "bench-token", "INPUT_PURGE-TYPE": s.purgeType,
		"INPUT_TARGETS-FILE": "targets.txt", "INPUT_BATCH-SIZE": fmt.Sprint(s.batch), "INPUT_PLAN": s.plan,
		"INPUT_API-URL": fake.BaseURL(), "INPUT_TIMEOUT": "5m", "INPUT_MAX-RETRIES": "20",
		"GITHUB_WORKSPACE": workspace, "GITHUB_OUTPUT": outputs,
	}
	start := time.Now()
	code := command.Run(context.Background(), command.Env{
		Getenv: func(k string) string { return inputs[k] }, Stdout: io.Discard, Stderr: io.Discard,
		WorkDir: workspace, Version: "bench",
	})
	wall := time.Since(start)
	if code != 0 {
		b.Errorf("%s: exit %d", s.name, code)
	}

	purged := map[string]bool{}
	for _, r := range fake.Requests() {
		if r.Status != 200 {
			continue
		}
		var body map[string][]string
		if err := json.Unmarshal(r.Body, &body); err != nil {
			b.Fatal(err)
		}
		for _, list := range body {
			for _, t := range list {
				purged[t] = true
			}
		}
	}
	lost := s.targets - len(purged)
	ratio := s.ideal().Seconds() / wall.Seconds()
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(float64(bucket.Limited()), "429s")
	b.ReportMetric(float64(lost), "lost")
	b.ReportMetric(wall.Seconds(), "wall-s")
	b.ReportMetric(s.ideal().Seconds(), "ideal-s")
	if out, err := os.ReadFile(outputs); err != nil || !strings.Contains(string(out), fmt.Sprintf("count<<_GitHubActionsFileCommandDelimeter_\n%d\n", s.targets-lost)) {
		b.Errorf("%s: count output does not match the fake's record (%d purged):\n%s", s.name, s.targets-lost, out)
	}
}

// BenchmarkDryRunPlan100kURLs times planning (reading, validating,
// batching and printing) 100,000 URLs in a dry run of the built binary,
// and reports the process's peak resident memory.
func BenchmarkDryRunPlan100kURLs(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "cloudflare-purge-action")
	build := exec.Command("go", "build", "-o", bin, "../..")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	s := scenario{purgeType: "files", targets: 100_000}
	if err := os.WriteFile(filepath.Join(dir, "urls.txt"), []byte(s.targetLines()), 0o644); err != nil {
		b.Fatal(err)
	}
	var peak int64
	b.ResetTimer()
	for range b.N {
		// 3,334 requests need a timeout over 10m under Cloudflare's
		// global API limit, or validation refuses the run.
		cmd := exec.Command(bin, "--dry-run", "--zone-id", zone, "--purge-type", "files", "--targets-file", "urls.txt", "--timeout", "20m")
		cmd.Dir = dir
		cmd.Env = []string{"HOME=" + dir}
		var out bytes.Buffer
		cmd.Stdout = &out
		if err := cmd.Run(); err != nil {
			b.Fatalf("%v\n%.2000s", err, out.String())
		}
		if n := bytes.Count(out.Bytes(), []byte("] POST ")); n != 3334 {
			b.Fatalf("the dry run printed %d requests, want 3334", n)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && runtime.GOOS == "linux" {
			peak = max(peak, ru.Maxrss*1024) // Linux reports KiB
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
}
