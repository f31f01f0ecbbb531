package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	yaml "go.yaml.in/yaml/v3"
)

// maxFileSize keeps a mistaken --config (an EXE, a log) from being read whole.
const maxFileSize = 1 << 20

// fileData is the file's top level after strict decoding.
type fileData struct {
	defaultProfile string
	profiles       map[string]map[string]any // lower-case names
}

// readFile reads and checks one config file. Before viper sees it, the YAML
// tree is scanned for what viper would silently hide: keys that differ only
// in case (viper lowercases and merges them) and password keys.
func readFile(path string) (*fileData, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usageErr("cannot read config file %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, usageErr("cannot read config file %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, usageErr("config file %s is larger than %d bytes; is --config pointing at the right file?", path, maxFileSize)
	}
	return parseFile(path, data)
}

func parseFile(path string, data []byte) (*fileData, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, usageErr("%s is not valid YAML: %w", path, err)
	}
	if err := scanNode(path, &doc, ""); err != nil {
		return nil, err
	}
	if len(doc.Content) > 0 && doc.Content[0].Kind != yaml.MappingNode &&
		!(doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null") {
		return nil, usageErr("%s: the top level must be a mapping with default_profile and profiles; see docs/configuration.md", path)
	}

	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return nil, usageErr("%s is not valid YAML: %w", path, err)
	}
	var top struct {
		DefaultProfile string         `mapstructure:"default_profile"`
		Profiles       map[string]any `mapstructure:"profiles"`
	}
	// AllSettings (behind viper's Unmarshal) drops empty mappings such as
	// "prod: {}", so the top level is rebuilt from the document's own keys.
	raw := map[string]any{}
	if len(doc.Content) > 0 && doc.Content[0].Kind == yaml.MappingNode {
		for i := 0; i < len(doc.Content[0].Content); i += 2 {
			k := strings.ToLower(doc.Content[0].Content[i].Value)
			raw[k] = v.Get(k)
		}
	}
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{Result: &top, Metadata: &md})
	if err != nil {
		return nil, usageErr("%s: %w", path, err)
	}
	if err := dec.Decode(raw); err != nil {
		return nil, usageErr("%s: %w; the top level has default_profile (text) and profiles (a mapping of name to settings)", path, unwrapDecode(err))
	}
	if len(md.Unused) > 0 {
		sort.Strings(md.Unused)
		return nil, usageErr("%s: unknown key %q at the top level; the top level has only default_profile and profiles (settings go inside a profile)", path, md.Unused[0])
	}
	fd := &fileData{defaultProfile: strings.TrimSpace(top.DefaultProfile), profiles: map[string]map[string]any{}}
	for name, val := range top.Profiles {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			return nil, usageErr("%s: a profile has an empty name", path)
		}
		switch m := val.(type) {
		case nil:
			fd.profiles[name] = map[string]any{}
		case map[string]any:
			fd.profiles[name] = m
		default:
			return nil, usageErr("%s: profile %q must be a mapping of settings (exe, servers, ...), not %s", path, name, describe(val))
		}
	}
	if fd.defaultProfile != "" {
		if _, ok := fd.profiles[strings.ToLower(fd.defaultProfile)]; !ok {
			return nil, usageErr("%s: default_profile %q is not one of the profiles (%s)", path, fd.defaultProfile, strings.Join(sortedKeys(fd.profiles), ", "))
		}
	}
	return fd, nil
}

// scanNode refuses password keys and keys that differ only in case, with the
// line number, anywhere in the document.
func scanNode(path string, n *yaml.Node, at string) error {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			sub := at
			if n.Kind == yaml.SequenceNode {
				sub = fmt.Sprintf("%s[%d]", at, i)
			}
			if err := scanNode(path, c, sub); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		seen := map[string]string{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			lk := strings.ToLower(k.Value)
			key := k.Value
			if at != "" {
				key = at + "." + k.Value
			}
			if strings.Contains(lk, "password") || lk == "passwd" {
				return usageErr("%s:%d: %q: passwords never go in wcdeploy.yaml (it is committed with the project); remove the key and use 'wcdeploy login' (OS keychain), WCDEPLOY_PASSWORD, --password-file or --password-stdin", path, k.Line, key)
			}
			if prev, ok := seen[lk]; ok {
				return usageErr("%s:%d: key %q repeats %q (keys are case-insensitive); keep one", path, k.Line, key, prev)
			}
			seen[lk] = key
			if err := scanNode(path, val, key); err != nil {
				return err
			}
		}
	}
	return nil
}

// unwrapDecode shortens mapstructure's multi-line error texts to one line.
func unwrapDecode(err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "decoding failed due to the following error(s):")
	msg = strings.Join(strings.Fields(msg), " ")
	return errors.New(msg)
}

func describe(v any) string {
	switch v.(type) {
	case string:
		return "text"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	case bool:
		return "true/false"
	case int, int64, uint64, float64:
		return "a number"
	case nil:
		return "empty"
	}
	return fmt.Sprintf("%T", v)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
