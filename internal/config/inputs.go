package config

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sethvargo/go-envconfig"
	"github.com/sethvargo/go-githubactions"
)

// Inputs holds the action's inputs as given, before validation. Every
// field is a string, and none is `required`, because envconfig stops at
// the first field it cannot decode, and the action reports every bad input
// at once; Validate does the decoding. The env key of each field is its
// input name upper-cased with underscores for hyphens (envconfig keys
// cannot hold hyphens). Names, defaults and help come from action.yml
// (Spec); a test checks that every field is declared there and back.
type Inputs struct {
	APIToken      string `env:"API_TOKEN"`
	APIEmail      string `env:"API_EMAIL"`
	APIKey        string `env:"API_KEY"`
	ZoneID        string `env:"ZONE_ID"`
	Zone          string `env:"ZONE"`
	EnvironmentID string `env:"ENVIRONMENT_ID"`
	Environment   string `env:"ENVIRONMENT"`
	Mode          string `env:"MODE"`
	PurgeType     string `env:"PURGE_TYPE"`
	Targets       string `env:"TARGETS"`
	TargetsFile   string `env:"TARGETS_FILE"`
	BatchSize     string `env:"BATCH_SIZE"`
	MaxRetries    string `env:"MAX_RETRIES"`
	Timeout       string `env:"TIMEOUT"`
	DryRun        string `env:"DRY_RUN"`
	APIURL        string `env:"API_URL"`
	Concurrency   string `env:"CONCURRENCY"`
	Plan          string `env:"PLAN"`
	WaitFor       string `env:"WAIT_FOR"`
	WaitForText   string `env:"WAIT_FOR_TEXT"`
	Verify        string `env:"VERIFY"`
	Sitemap       string `env:"SITEMAP"`
	SitemapSince  string `env:"SITEMAP_SINCE"`
	VerifyURLs    string `env:"VERIFY_URLS"`
	Warm          string `env:"WARM"`
	OnError       string `env:"ON_ERROR"`

	// purge-type changed
	ChangedSince        string `env:"CHANGED_SINCE"`
	ChangedFiles        string `env:"CHANGED_FILES"`
	GitHubToken         string `env:"GITHUB_TOKEN"`
	URLMap              string `env:"URL_MAP"`
	PurgeEverythingWhen string `env:"PURGE_EVERYTHING_WHEN"`
	MaxChanged          string `env:"MAX_CHANGED"`
}

// InputName turns an envconfig key (ZONE_ID) into the input name (zone-id).
func InputName(key string) string {
	return strings.ToLower(strings.ReplaceAll(key, "_", "-"))
}

// lookuper finds an input's value: a command-line flag first (local
// runs), then the runner's INPUT_<NAME> variable, read through
// go-githubactions (which keeps the hyphens, as the runner does), then
// action.yml's default. An empty value counts as not set: the runner
// exports every declared input, empty when the workflow does not set it.
type lookuper struct {
	flags map[string]string
	gh    *githubactions.Action
	spec  Spec
}

func (l lookuper) Lookup(key string) (string, bool) {
	name := InputName(key)
	if v := strings.TrimSpace(l.flags[name]); v != "" {
		return v, true
	}
	if v := l.gh.GetInput(name); v != "" {
		return v, true
	}
	v := l.spec.Default(name)
	return v, v != ""
}

// Key names the input in envconfig's own error messages.
func (l lookuper) Key(key string) string { return "input " + InputName(key) }

// ReadInputs loads the inputs from flags, the environment and defaults.
func ReadInputs(ctx context.Context, flags map[string]string, getenv func(string) string, spec Spec) (Inputs, error) {
	var in Inputs
	err := envconfig.ProcessWith(ctx, &envconfig.Config{
		Target:   &in,
		Lookuper: lookuper{flags: flags, gh: githubactions.New(githubactions.WithGetenv(getenv)), spec: spec},
	})
	return in, err
}

// ErrHelp is returned by ParseFlags when --help was asked for; the usage
// has been printed.
var ErrHelp = flag.ErrHelp

// ErrVersion is returned by ParseFlags when --version was asked for: the
// caller prints the version and exits 0.
var ErrVersion = errors.New("version asked for")

// ParseFlags reads command-line flags named like the inputs (--zone-id,
// --dry-run, ...) for running the action outside GitHub Actions. It
// returns the flags that were given, by input name. An input whose
// default is true or false is a boolean flag: --dry-run alone means true,
// and --dry-run false, --dry-run=false also work.
func ParseFlags(args []string, spec Spec, usageOut io.Writer) (map[string]string, error) {
	fs := flag.NewFlagSet("cloudflare-purge-action", flag.ContinueOnError)
	// The flag package prints its own error and the usage on any bad flag;
	// the caller reports errors, so only --help prints the usage.
	fs.SetOutput(io.Discard)
	given := map[string]string{}
	for _, in := range spec.Inputs {
		usage := strings.Join(strings.Fields(in.Description), " ")
		if in.Default != "" {
			usage += fmt.Sprintf(" (default %s)", in.Default)
		}
		v := &flagValue{name: in.Name, given: given, boolean: isBool(in.Default)}
		fs.Var(v, in.Name, usage)
	}
	version := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {}
	if err := fs.Parse(joinBoolValues(args, spec)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(usageOut, "Usage: cloudflare-purge-action [flags]\n\n"+
				"Purges Cloudflare's cache for a zone, or one environment of it. In GitHub Actions\n"+
				"the flags come as inputs; locally the token comes from CLOUDFLARE_API_TOKEN.\n\n"+
				"Example: cloudflare-purge-action --dry-run --zone-id 023e105f4ecef8ad9ca31a8372d0c353 --purge-type tags --targets blog,home\n\nFlags:\n")
			for _, in := range spec.Inputs {
				f := fs.Lookup(in.Name)
				arg := " value"
				if isBool(in.Default) {
					arg = " [true|false]"
				}
				fmt.Fprintf(usageOut, "  --%s%s\n    \t%s\n", in.Name, arg, f.Usage)
			}
			fmt.Fprintf(usageOut, "  --version\n    \tPrint the version and exit.\n")
		}
		return nil, err
	}
	if *version {
		return nil, ErrVersion
	}
	if fs.NArg() > 0 {
		// The argument itself is not echoed: it could be a misplaced token.
		return nil, fmt.Errorf("unexpected argument number %d: every value is given as a flag, e.g. --targets blog,home", len(args)-fs.NArg()+1)
	}
	return given, nil
}

// joinBoolValues turns `--dry-run false` into `--dry-run=false`: the flag
// package reads a boolean flag's value only after `=`, and would take the
// word for a stray argument.
func joinBoolValues(args []string, spec Spec) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		name := strings.TrimLeft(a, "-")
		if strings.HasPrefix(a, "-") && !strings.Contains(name, "=") && isBool(spec.Default(name)) &&
			i+1 < len(args) && isBool(strings.ToLower(args[i+1])) {
			out = append(out, a+"="+args[i+1])
			i++
			continue
		}
		out = append(out, a)
	}
	return out
}

func isBool(s string) bool { return s == "true" || s == "false" }

// flagValue records a flag under its input name.
type flagValue struct {
	name    string
	given   map[string]string
	boolean bool
}

func (f *flagValue) String() string { return "" }

func (f *flagValue) Set(v string) error {
	f.given[f.name] = v
	return nil
}

// IsBoolFlag lets --dry-run stand alone, meaning true.
func (f *flagValue) IsBoolFlag() bool { return f.boolean }
