module github.com/cfpurge/cloudflare-purge-action

go 1.26.8

require (
	github.com/cenkalti/backoff/v5 v5.0.3
	github.com/sethvargo/go-envconfig v1.4.3
	github.com/sethvargo/go-githubactions v1.3.0
	go.yaml.in/yaml/v3 v3.0.4
)
