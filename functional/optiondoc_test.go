package functional

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"strings"
	"testing"

	"github.com/torchloss/torchloss/internal/losses"
)

// TestOptionDocsNameTheirLosses checks that the doc comment of each
// option's function in options.go names every loss the table gives the
// option (its PyTorch name), so that the documentation follows the table.
func TestOptionDocsNameTheirLosses(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "options.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Doc != nil {
			docs[fd.Name.Name] = strings.Join(strings.Fields(fd.Doc.Text()), " ")
		}
	}
	for _, row := range losses.Table {
		for _, o := range row.Options {
			fn := ""
			for _, w := range strings.Split(o.Name, "_") {
				fn += strings.ToUpper(w[:1]) + w[1:]
			}
			doc, ok := docs[fn]
			if !ok {
				t.Errorf("%s: no documented func %s in options.go", o.Name, fn)
				continue
			}
			if !regexp.MustCompile(`\b` + row.Name + `\b`).MatchString(doc) {
				t.Errorf("%s's doc does not name %s, which the table gives the option", fn, row.Name)
			}
		}
	}
}
