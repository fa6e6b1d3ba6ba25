package config

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/sethvargo/go-envconfig"
	"github.com/sethvargo/go-githubactions"
)

// Inputs holds the action's inputs as given, before validation. Every
// field is a string, and none is `required`, because envconfig stops at the
// first field it cannot decode, and the action reports every bad input at
// once; Validate does the decoding. The env key of each field is its input
// name upper-cased with underscores for hyphens (envconfig keys cannot
// hold hyphens); defaults match action.yml, which a test checks.
type Inputs struct {
	APIToken      string `env:"API_TOKEN" help:"Cloudflare API token with Zone > Cache Purge permission (default: $CLOUDFLARE_API_TOKEN)"`
	APIEmail      string `env:"API_EMAIL" help:"account email, for legacy Global API Key auth (with --api-key)"`
	APIKey        string `env:"API_KEY" help:"legacy Global API Key (with --api-email)"`
	ZoneID        string `env:"ZONE_ID" help:"zone ID: 1-32 letters and digits (required)"`
	EnvironmentID string `env:"ENVIRONMENT_ID" help:"environment ID; empty purges the zone"`
	PurgeType     string `env:"PURGE_TYPE" help:"everything, files, tags, hosts or prefixes (required)"`
	Targets       string `env:"TARGETS" help:"targets, one a line (tags and hosts may be comma-separated)"`
	TargetsFile   string `env:"TARGETS_FILE" help:"file of targets, relative to the workspace (the current folder outside Actions)"`
	BatchSize     string `env:"BATCH_SIZE,default=auto" help:"most targets in one request (auto: 30 URLs, or 500 on enterprise; 100 tags, hosts or prefixes)"`
	MaxRetries    string `env:"MAX_RETRIES,default=5" help:"retries of one request after 429, 5xx or a network error"`
	Timeout       string `env:"TIMEOUT,default=10m" help:"bound on the whole run, a Go duration"`
	DryRun        string `env:"DRY_RUN,default=false" help:"print the requests instead of sending them; needs no token"`
	APIURL        string `env:"API_URL,default=https://api.cloudflare.com/client/v4" help:"API base URL"`
	Concurrency   string `env:"CONCURRENCY,default=8" help:"most requests in flight at once"`
	Plan          string `env:"PLAN" help:"free, pro, business or enterprise: paces requests to the plan's documented limits"`
}

// InputName turns an envconfig key (ZONE_ID) into the input name (zone-id).
func InputName(key string) string {
	return strings.ToLower(strings.ReplaceAll(key, "_", "-"))
}

// lookuper finds an input's value: a command-line flag first (local
// runs), then the runner's INPUT_<NAME> variable, read through
// go-githubactions (which keeps the hyphens, as the runner does). An empty
// value counts as not set: the runner exports every declared input, empty
// when the workflow does not set it, and envconfig's defaults must still
// apply.
type lookuper struct {
	flags map[string]string
	gh    *githubactions.Action
}

func (l lookuper) Lookup(key string) (string, bool) {
	name := InputName(key)
	if v := strings.TrimSpace(l.flags[name]); v != "" {
		return v, true
	}
	v := l.gh.GetInput(name)
	return v, v != ""
}

// Key names the input in envconfig's own error messages.
func (l lookuper) Key(key string) string { return "input " + InputName(key) }

// ReadInputs loads the inputs from flags and the environment.
func ReadInputs(ctx context.Context, flags map[string]string, getenv func(string) string) (Inputs, error) {
	var in Inputs
	err := envconfig.ProcessWith(ctx, &envconfig.Config{
		Target:   &in,
		Lookuper: lookuper{flags: flags, gh: githubactions.New(githubactions.WithGetenv(getenv))},
	})
	return in, err
}

// inputField is one input as the Inputs struct declares it.
type inputField struct {
	Name, Default, Help string
}

// InputFields lists the inputs in declaration order, with their defaults
// and help text, read from the Inputs struct tags.
func InputFields() []inputField {
	t := reflect.TypeOf(Inputs{})
	fields := make([]inputField, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		key, opts, _ := strings.Cut(f.Tag.Get("env"), ",")
		_, def, _ := strings.Cut(opts, "default=")
		fields = append(fields, inputField{Name: InputName(key), Default: def, Help: f.Tag.Get("help")})
	}
	return fields
}

// ErrHelp is returned by ParseFlags when --help was asked for; the usage
// has been printed.
var ErrHelp = flag.ErrHelp

// ParseFlags reads command-line flags named like the inputs (--zone-id,
// --dry-run, ...) for running the action outside GitHub Actions. It
// returns the flags that were given, by input name.
func ParseFlags(args []string, usageOut io.Writer) (map[string]string, error) {
	fs := flag.NewFlagSet("cloudflare-purge-action", flag.ContinueOnError)
	// The flag package prints its own error and the usage on any bad flag;
	// the caller reports errors, so only --help prints the usage.
	fs.SetOutput(io.Discard)
	values := map[string]*string{}
	dryRun := fs.Bool("dry-run", false, "")
	for _, f := range InputFields() {
		if f.Name == "dry-run" {
			fs.Lookup("dry-run").Usage = f.Help
			continue
		}
		values[f.Name] = fs.String(f.Name, "", f.Help+defaultNote(f.Default))
	}
	fs.Usage = func() {}
	usage := func() {
		fs.SetOutput(usageOut)
		fmt.Fprintf(usageOut, "Usage: cloudflare-purge-action [flags]\n\n"+
			"Purges Cloudflare's cache for a zone, or one environment of it. In GitHub Actions\n"+
			"the flags come as inputs; locally the token comes from CLOUDFLARE_API_TOKEN.\n\n"+
			"Example: cloudflare-purge-action --dry-run --zone-id 023e105f4ecef8ad9ca31a8372d0c353 --purge-type tags --targets blog,home\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		// The argument itself is not echoed: it could be a misplaced token.
		return nil, fmt.Errorf("unexpected argument number %d: every value is given as a flag, e.g. --targets blog,home", len(args)-fs.NArg()+1)
	}
	given := map[string]string{}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "dry-run" {
			given["dry-run"] = fmt.Sprint(*dryRun)
			return
		}
		given[f.Name] = *values[f.Name]
	})
	return given, nil
}

func defaultNote(def string) string {
	if def == "" {
		return ""
	}
	return fmt.Sprintf(" (default %s)", def)
}
