package torchloss_test

import (
	"io/fs"
	"os"
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
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") && name != ".ci" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".go", ".md", ".py", ".sh", ".cu", "":
		default:
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
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
		return nil
	})
	if err != nil {
		t.Fatal(err)
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
