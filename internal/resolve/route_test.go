package resolve

import "testing"

func TestOwnerIsTheLongestParentDomain(t *testing.T) {
	t.Parallel()
	zones := []Zone{{Name: "example.org"}, {Name: "cdn.example.org"}, {Name: "example.com"}}
	for host, want := range map[string]int{
		"example.org": 0, "www.example.org": 0, "cdn.example.org": 1, "a.cdn.example.org": 1,
		"example.com": 2, "badexample.com": -1, "example.net": -1, "org": -1,
	} {
		if got := Owner(host, zones); got != want {
			t.Errorf("Owner(%q) = %d, want %d", host, got, want)
		}
	}
}
