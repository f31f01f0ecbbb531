package config

import (
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// ProfileNames lists the profiles of the config file (lower-case, sorted)
// and its default_profile. It reads the file's top level only, because
// loading a profile fails exactly when none is picked yet, which is when
// shell completion wants the names. Any problem gives no names.
func ProfileNames(flagPath string, getenv func(string) string, dir string) (names []string, defaultProfile string) {
	path := flagPath
	if path == "" {
		path = getenv(EnvPrefix + "CONFIG")
	}
	if path == "" {
		var err error
		if path, err = Find(dir); err != nil || path == "" {
			return nil, ""
		}
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	f, err := os.Open(filepath.Clean(path))
	if err != nil {
		return nil, ""
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, ""
	}
	var doc struct {
		DefaultProfile string               `yaml:"default_profile"`
		Profiles       map[string]yaml.Node `yaml:"profiles"`
	}
	if yaml.Unmarshal(data, &doc) != nil {
		return nil, ""
	}
	for n := range doc.Profiles {
		names = append(names, strings.ToLower(n))
	}
	sort.Strings(names)
	return names, doc.DefaultProfile
}
