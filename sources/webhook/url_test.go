package webhook

import "testing"

func TestNormalizeRepoURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://github.com/acme/fleet", "github.com/acme/fleet"},
		{"https://github.com/acme/fleet.git", "github.com/acme/fleet"},
		{"https://github.com/acme/fleet/", "github.com/acme/fleet"},
		{"https://github.com/acme/fleet.git/", "github.com/acme/fleet"},
		{"http://github.com/acme/fleet", "github.com/acme/fleet"},
		{"HTTPS://GitHub.COM/acme/fleet", "github.com/acme/fleet"},
		{"https://github.com:443/acme/fleet", "github.com/acme/fleet"},
		{"http://github.com:80/acme/fleet", "github.com/acme/fleet"},
		{"https://user@github.com/acme/fleet", "github.com/acme/fleet"},
		{"https://x-access-token:t0ken@github.com/acme/fleet", "github.com/acme/fleet"},
		{"https://github.com/acme/fleet?ref=main#readme", "github.com/acme/fleet"},
		{"ssh://git@github.com/acme/fleet.git", "github.com/acme/fleet"},
		{"ssh://git@github.com:22/acme/fleet.git", "github.com/acme/fleet"},
		{"git+ssh://git@github.com/acme/fleet.git", "github.com/acme/fleet"},
		{"git://github.com/acme/fleet.git", "github.com/acme/fleet"},
		{"git://github.com:9418/acme/fleet.git", "github.com/acme/fleet"},
		{"git@github.com:acme/fleet.git", "github.com/acme/fleet"},
		{"git@GitHub.com:acme/fleet", "github.com/acme/fleet"},
		{"github.com:acme/fleet.git", "github.com/acme/fleet"},
		{"git@github.com:/acme/fleet.git", "github.com/acme/fleet"},
		{"git@[github.com:22]:acme/fleet.git", "github.com/acme/fleet"},
		{"  https://github.com/acme/fleet  ", "github.com/acme/fleet"},
		{"https://github.com//acme//fleet", "github.com/acme/fleet"},
		{"https://github.com/acme/./fleet", "github.com/acme/fleet"},
		{"https://github.com./acme/fleet", "github.com/acme/fleet"},
		// The path keeps its case.
		{"https://github.com/Acme/Fleet", "github.com/Acme/Fleet"},
		// A port that is not the scheme's default stays.
		{"https://git.acme.example:8443/platform/fleet.git", "git.acme.example:8443/platform/fleet"},
		{"ssh://git@git.acme.example:2222/platform/fleet.git", "git.acme.example:2222/platform/fleet"},
		{"http://127.0.0.1:40123/fleet.git", "127.0.0.1:40123/fleet"},
		{"git@[git.acme.example:2222]:platform/fleet.git", "git.acme.example:2222/platform/fleet"},
		{"https://[::1]:8443/fleet.git", "[::1]:8443/fleet"},
		{"ssh://git@[::1]/fleet.git", "[::1]/fleet"},
		{"git@[::1]:fleet.git", "[::1]/fleet"},
		// GitLab subgroups.
		{"https://gitlab.acme.example/platform/deploy/fleet.git", "gitlab.acme.example/platform/deploy/fleet"},
		{"git@gitlab.acme.example:platform/deploy/fleet.git", "gitlab.acme.example/platform/deploy/fleet"},
		// Local repositories.
		{"file:///srv/git/fleet.git", "file:///srv/git/fleet"},
		{"file://localhost/srv/git/fleet/", "file:///srv/git/fleet"},
		{"/srv/git/fleet.git", "file:///srv/git/fleet"},
		{"/", ""},
		{"file:///", ""},
		// No repository.
		{"", ""},
		{"   ", ""},
		{"https://github.com", ""},
		{"https://github.com/", ""},
		{"https://github.com/.git", ""},
		{"https:///acme/fleet", ""},
		{"git@github.com:", ""},
		{"ftp://github.com/acme/fleet", ""},
		{"fleet", ""},
		{"file://otherhost/srv/git/fleet", ""},
		{"https://github.com/acme/fle\x00et", ""},
		{"https://github.com/acme/%zz", ""},
	}
	for _, tt := range tests {
		if got := NormalizeRepoURL(tt.in); got != tt.want {
			t.Errorf("NormalizeRepoURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestNormalizeRepoURLSameAndDifferent checks the property matching relies on: the forms of one
// repository normalise equal, and different repositories (path case included) do not.
func TestNormalizeRepoURLSameAndDifferent(t *testing.T) {
	same := [][]string{
		{
			"https://github.com/Acme/fleet.git", "http://github.com/Acme/fleet", "https://GITHUB.com/Acme/fleet/",
			"ssh://git@github.com/Acme/fleet.git", "git@github.com:Acme/fleet.git", "git://github.com/Acme/fleet.git",
			"https://octo@github.com:443/Acme/fleet.git",
		},
		{"https://gitlab.acme.example/platform/deploy/fleet", "git@gitlab.acme.example:platform/deploy/fleet.git"},
	}
	for _, forms := range same {
		want := NormalizeRepoURL(forms[0])
		for _, f := range forms[1:] {
			if got := NormalizeRepoURL(f); got != want {
				t.Errorf("NormalizeRepoURL(%q) = %q, want %q as for %q", f, got, want, forms[0])
			}
		}
	}
	different := [][2]string{
		{"https://github.com/Acme/fleet", "https://github.com/acme/fleet"},
		{"https://github.com/acme/fleet", "https://github.com/acme/fleet-staging"},
		{"https://github.com/acme/fleet", "https://gitlab.com/acme/fleet"},
		{"https://github.com/acme/fleet", "https://github.com/other/fleet"},
		{"https://git.acme.example:3000/platform/fleet", "ssh://git@git.acme.example:2222/platform/fleet"},
		{"https://github.com/acme/fleet", "https://github.com/acme/fleet/sub"},
	}
	for _, d := range different {
		if a, b := NormalizeRepoURL(d[0]), NormalizeRepoURL(d[1]); a == b {
			t.Errorf("NormalizeRepoURL(%q) = NormalizeRepoURL(%q) = %q, want them different", d[0], d[1], a)
		}
	}
}
