package torchloss_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestRepositoryStandsAlone: the repository cites no file outside itself
// (paths of the machine it was developed on, a spec document that is not
// committed), and every citation of docs/semantics.md names a section that
// exists there.
func TestRepositoryStandsAlone(t *testing.T) {
	forbidden := []string{"/wo" + "rk/", "../sha" + "red/", "PYTORCH_" + "LOSSES"}
	cite := regexp.MustCompile(`docs/semantics\.md\)?` + "`?" + ` \(?§([0-9]+(?:\.[0-9]+)?)`)
	sem, err := os.ReadFile("docs/semantics.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#{2,3} ([0-9]+(?:\.[0-9]+)?)\.? `).FindAllStringSubmatch(string(sem), -1) {
		sections[m[1]] = true
	}
	cited := 0
	files, err := repoFiles()
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		switch filepath.Ext(path) {
		case ".go", ".md", ".py", ".sh", ".cu", "":
		default:
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		for _, f := range forbidden {
			if i := strings.Index(text, f); i >= 0 {
				t.Errorf("%s:%d cites %q, which is not part of the repository", path, 1+strings.Count(text[:i], "\n"), f)
			}
		}
		for _, m := range cite.FindAllStringSubmatch(text, -1) {
			cited++
			if !sections[m[1]] {
				t.Errorf("%s cites docs/semantics.md §%s, which has no such section", path, m[1])
			}
		}
	}
	if cited < 10 {
		t.Errorf("found %d citations of docs/semantics.md: the pattern no longer matches them", cited)
	}
	for _, f := range []string{"bench/WORKLOADS.md", "docs/semantics.md"} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
}

// repoFiles lists the repository's files: git's tracked and untracked files
// that are not ignored (build outputs such as binaries embed the builder's
// paths and are not part of the repository), without testdata and hidden
// folders other than .ci. Outside a git checkout it walks the tree.
func repoFiles() ([]string, error) {
	keep := func(path string) bool {
		for _, part := range strings.Split(filepath.ToSlash(filepath.Dir(path)), "/") {
			if part == "testdata" || strings.HasPrefix(part, ".") && part != "." && part != ".ci" {
				return false
			}
		}
		return true
	}
	var files []string
	if out, err := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output(); err == nil {
		for _, f := range strings.Split(string(out), "\x00") {
			if f != "" && keep(f) {
				if _, err := os.Stat(f); err == nil { // deleted but not yet committed
					files = append(files, f)
				}
			}
		}
		return files, nil
	}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && keep(path) {
			files = append(files, path)
		}
		return nil
	})
	return files, err
}
