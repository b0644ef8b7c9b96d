package octavus

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestREADMEAPIIsTheCode keeps the README's API listing true: the first Go
// block after "## The API" must parse as Go, and each func in it must be
// declared in the package with the same receiver, parameter names and
// types, and each type must exist with the same definition, or, for a
// struct, with each listed field of the listed type (a listing may leave
// fields out).
func TestREADMEAPIIsTheCode(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	block := apiBlock(t, string(readme))

	fset := token.NewFileSet()
	listed, err := parser.ParseFile(fset, "README.md (## The API)", "package octavus\n"+block, 0)
	require.NoError(t, err, "the README's API block is not valid Go")
	funcs, types := packageDecls(t, fset)

	n := 0
	for _, d := range listed.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			n++
			want, ok := funcs[funcKey(d)]
			if !ok {
				t.Errorf("README lists %s, which the package does not declare", show(fset, d))
				continue
			}
			if got, listed := show(fset, want), show(fset, d); got != listed {
				t.Errorf("README lists\n\t%s\nthe code declares\n\t%s", listed, got)
			}
		case *ast.GenDecl:
			if d.Tok != token.TYPE {
				t.Errorf("README's API block has a %s declaration; list funcs and types only", d.Tok)
				continue
			}
			for _, s := range d.Specs {
				n++
				checkListedType(t, fset, s.(*ast.TypeSpec), types)
			}
		}
	}
	require.Greater(t, n, 40, "the API block lists too little; did the heading move?")
}

// apiBlock returns the first ```go block after the "## The API" heading.
func apiBlock(t *testing.T, readme string) string {
	t.Helper()
	_, rest, ok := strings.Cut(readme, "\n## The API\n")
	require.True(t, ok, "README.md has no \"## The API\" section")
	_, rest, ok = strings.Cut(rest, "```go\n")
	require.True(t, ok, "the API section has no ```go block")
	block, _, ok := strings.Cut(rest, "\n```")
	require.True(t, ok, "the API block is not closed")
	return block
}

// packageDecls parses the package's non-test files and returns its
// exported funcs and methods by funcKey, and its types by name.
func packageDecls(t *testing.T, fset *token.FileSet) (map[string]*ast.FuncDecl, map[string]*ast.TypeSpec) {
	t.Helper()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	funcs := map[string]*ast.FuncDecl{}
	types := map[string]*ast.TypeSpec{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				funcs[funcKey(d)] = d
			case *ast.GenDecl:
				for _, s := range d.Specs {
					if ts, ok := s.(*ast.TypeSpec); ok {
						types[ts.Name.Name] = ts
					}
				}
			}
		}
	}
	return funcs, types
}

// funcKey names a func "F" and a method "T.F" (pointer receiver or not).
func funcKey(d *ast.FuncDecl) string {
	if d.Recv == nil || len(d.Recv.List) == 0 {
		return d.Name.Name
	}
	recv := d.Recv.List[0].Type
	if star, ok := recv.(*ast.StarExpr); ok {
		recv = star.X
	}
	if id, ok := recv.(*ast.Ident); ok {
		return id.Name + "." + d.Name.Name
	}
	return "?." + d.Name.Name
}

// show prints a func's declaration without its doc and body, or any other
// node, on one line.
func show(fset *token.FileSet, n ast.Node) string {
	if d, ok := n.(*ast.FuncDecl); ok {
		c := *d
		c.Doc, c.Body = nil, nil
		n = &c
	}
	var b bytes.Buffer
	if err := printer.Fprint(&b, fset, n); err != nil {
		return "<" + err.Error() + ">"
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// checkListedType checks one type of the README against the code's.
func checkListedType(t *testing.T, fset *token.FileSet, listed *ast.TypeSpec, types map[string]*ast.TypeSpec) {
	t.Helper()
	name := listed.Name.Name
	code, ok := types[name]
	if !ok {
		t.Errorf("README lists type %s, which the package does not declare", name)
		return
	}
	ls, lok := listed.Type.(*ast.StructType)
	cs, cok := code.Type.(*ast.StructType)
	if !lok || !cok {
		if got, want := show(fset, listed.Type), show(fset, code.Type); got != want {
			t.Errorf("README lists type %s %s; the code has type %s %s", name, got, name, want)
		}
		return
	}
	fields := map[string]string{}
	for _, f := range cs.Fields.List {
		for _, n := range fieldNames(f) {
			fields[n] = show(fset, f.Type)
		}
	}
	for _, f := range ls.Fields.List {
		for _, n := range fieldNames(f) {
			got, ok := fields[n]
			switch {
			case !ok:
				t.Errorf("README lists %s.%s, which the code's struct does not have", name, n)
			case got != show(fset, f.Type):
				t.Errorf("README lists %s.%s as %s; the code has %s", name, n, show(fset, f.Type), got)
			}
		}
	}
}

// fieldNames are a struct field's names, or its type's name when embedded.
func fieldNames(f *ast.Field) []string {
	if len(f.Names) == 0 {
		typ := f.Type
		if star, ok := typ.(*ast.StarExpr); ok {
			typ = star.X
		}
		if id, ok := typ.(*ast.Ident); ok {
			return []string{id.Name}
		}
		return []string{"?"}
	}
	names := make([]string, len(f.Names))
	for i, n := range f.Names {
		names[i] = n.Name
	}
	return names
}
