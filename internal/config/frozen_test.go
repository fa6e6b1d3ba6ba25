package config_test

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The validated Config is never written after Validate: what a run
// resolves (purge-type changed's targets, targets left out for holding a
// secret) is resolve.Plan's. This test is the vet-style check of that
// rule: it type-checks every production package of the module but
// config and fails on any assignment, increment or address taken of a
// field of a config.Config or of anything reached through one.
func TestConfigIsNeverWrittenOutsideConfig(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "source", nil)
	var dirs []string
	_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if err == nil && d.IsDir() {
			dirs = append(dirs, path)
		}
		return nil
	})
	checked := 0
	for _, dir := range dirs {
		if filepath.Base(dir) == "config" {
			continue
		}
		names, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		var files []*ast.File
		for _, name := range names {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		if len(files) > 0 {
			info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Selections: map[*ast.SelectorExpr]*types.Selection{}}
			conf := types.Config{Importer: imp, Error: func(error) {}}
			if _, err := conf.Check(dir, fset, files, info); err != nil {
				t.Fatalf("type-checking %s: %v", dir, err)
			}
			checked++
			for _, f := range files {
				ast.Inspect(f, func(n ast.Node) bool {
					var written []ast.Expr
					switch n := n.(type) {
					case *ast.AssignStmt:
						if n.Tok != token.DEFINE {
							written = n.Lhs
						}
					case *ast.IncDecStmt:
						written = []ast.Expr{n.X}
					case *ast.UnaryExpr:
						if n.Op == token.AND {
							written = []ast.Expr{n.X}
						}
					}
					for _, e := range written {
						if throughConfig(e, info) {
							t.Errorf("%s: writes the validated Config: %s", fset.Position(e.Pos()), types.ExprString(e))
						}
					}
					return true
				})
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked %d packages; the walk is broken", checked)
	}
}

// throughConfig reports whether e is a field (or element) reached
// through a value of type config.Config.
func throughConfig(e ast.Expr, info *types.Info) bool {
	for {
		switch x := e.(type) {
		case *ast.SelectorExpr:
			if isConfig(info.Types[x.X].Type) {
				return true
			}
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.StarExpr:
			e = x.X
		case *ast.ParenExpr:
			e = x.X
		default:
			return false
		}
	}
}

func isConfig(t types.Type) bool {
	if t == nil {
		return false
	}
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := t.(*types.Named)
	return ok && n.Obj().Name() == "Config" && n.Obj().Pkg() != nil && strings.HasSuffix(n.Obj().Pkg().Path(), "/internal/config")
}
