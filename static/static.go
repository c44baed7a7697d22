// Package static holds the stylesheet and script of the pages, embedded in
// the binary and served under content-hashed URLs so that browsers may cache
// them forever.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"path"
)

//go:embed *.css *.js *.svg LICENSE
var files embed.FS

// Asset is one embedded file.
type Asset struct {
	Name string // e.g. "app.css"
	Hash string // first 12 hex digits of its SHA-256
	Data []byte
}

var assets = func() map[string]Asset {
	m := map[string]Asset{}
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := files.ReadFile(e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		m[e.Name()] = Asset{Name: e.Name(), Hash: hex.EncodeToString(sum[:])[:12], Data: b}
	}
	return m
}()

// Prefix is where the assets are served.
const Prefix = "/static/"

// URL returns the content-hashed URL of the named asset,
// "/static/{hash}/{name}". It panics for an unknown name: a typo in a
// template should fail the first test that renders it.
func URL(name string) string {
	a, ok := assets[name]
	if !ok {
		panic("static: no asset " + name)
	}
	return Prefix + a.Hash + "/" + a.Name
}

// Lookup returns the asset for a request path below Prefix, "{hash}/{name}".
// current reports whether hash is the asset's present hash; an old hash still
// finds the file (a page cached across an upgrade), but must not be cached
// for long.
func Lookup(p string) (a Asset, current, ok bool) {
	dir, name := path.Split(p)
	a, ok = assets[name]
	if !ok {
		return Asset{}, false, false
	}
	return a, path.Clean(dir) == a.Hash, true
}
