package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/viper"
	yaml "go.yaml.in/yaml/v3"
)

// maxFileSize keeps a mistaken --config (an EXE, a log) from being read whole.
const maxFileSize = 1 << 20

// fileData is the file's top level after strict decoding.
type fileData struct {
	defaultProfile string
	profiles       map[string]map[string]any // lower-case names
	// lines maps a lower-case dotted key path ("profiles.prod.servers[0].url")
	// to the line it is written on, for errors that point into the file.
	lines map[string]int
	// keys maps a profile's name to its key as written, lower-cased (names
	// are trimmed, keys are not).
	keys map[string]string
}

// line is the line of key inside profile name, 0 when unknown.
func (fd *fileData) line(name, key string) int {
	if fd == nil {
		return 0
	}
	return fd.lines["profiles."+fd.keys[name]+"."+key]
}

// readFile reads and checks one config file.
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

// Top-level keys of the file.
const (
	keyDefaultProfile = "default_profile"
	keyProfiles       = "profiles"
)

// parseFile parses the bytes once, into a YAML tree, and checks it there,
// where every key still has its line: what viper would silently hide (keys
// that differ only in case, which it lowercases and merges), password keys
// and unknown top-level keys. The checked tree is then given to viper as a
// map, which it holds with case-insensitive keys; nothing parses the bytes
// a second time.
func parseFile(path string, data []byte) (*fileData, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		if advice := escapeAdvice(path, data, err); advice != nil {
			return nil, advice
		}
		return nil, usageErr("%s is not valid YAML: %w", path, err)
	}
	if err := checkEscapedValues(path, data, &doc); err != nil {
		return nil, err
	}
	lines := map[string]int{}
	if err := scanNode(path, &doc, "", "", lines); err != nil {
		return nil, err
	}
	v := viper.New()
	if len(doc.Content) > 0 {
		top := doc.Content[0]
		if err := checkTop(path, top); err != nil {
			return nil, err
		}
		var tree map[string]any
		if err := doc.Decode(&tree); err != nil {
			return nil, usageErr("%s is not valid YAML: %w", path, err)
		}
		if err := v.MergeConfigMap(tree); err != nil {
			return nil, usageErr("%s: %w", path, err)
		}
	}
	return profilesOf(path, v, lines)
}

// checkTop accepts a mapping of default_profile and profiles, or nothing.
func checkTop(path string, top *yaml.Node) error {
	if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
		return nil
	}
	if top.Kind != yaml.MappingNode {
		return usageErr("%s: the top level must be a mapping with default_profile and profiles; see docs/configuration.md", path)
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k := top.Content[i]
		switch strings.ToLower(k.Value) {
		case keyDefaultProfile, keyProfiles:
		default:
			return usageErr("%s:%d: unknown key %q at the top level%s; the top level has only default_profile and profiles (settings go inside a profile)", path, k.Line, k.Value, didYouMean(k.Value, []string{keyDefaultProfile, keyProfiles}))
		}
	}
	return nil
}

// profilesOf reads default_profile and the profiles from viper.
func profilesOf(path string, v *viper.Viper, lines map[string]int) (*fileData, error) {
	fd := &fileData{profiles: map[string]map[string]any{}, lines: lines, keys: map[string]string{}}
	const shape = "the top level has default_profile (text) and profiles (a mapping of name to settings)"
	switch dp := v.Get(keyDefaultProfile).(type) {
	case nil:
	case string:
		fd.defaultProfile = strings.TrimSpace(dp)
	default:
		return nil, usageErr("%s:%d: default_profile must be text, not %s; %s", path, lines[keyDefaultProfile], describe(dp), shape)
	}
	var profiles map[string]any
	switch ps := v.Get(keyProfiles).(type) {
	case nil:
	case map[string]any:
		profiles = ps
	default:
		return nil, usageErr("%s:%d: profiles must be a mapping of name to settings, not %s; %s", path, lines[keyProfiles], describe(ps), shape)
	}
	for key, val := range profiles {
		name := strings.ToLower(strings.TrimSpace(key))
		if name == "" {
			return nil, usageErr("%s: a profile has an empty name", path)
		}
		fd.keys[name] = key
		switch m := val.(type) {
		case nil:
			fd.profiles[name] = map[string]any{}
		case map[string]any:
			fd.profiles[name] = m
		default:
			return nil, usageErr("%s:%d: profile %q must be a mapping of settings (exe, servers, ...), not %s", path, lines[keyProfiles+"."+key], name, describe(val))
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
// line number, anywhere in the document, notes the line of every key under
// its lower-case path and lower-cases the keys.
func scanNode(path string, n *yaml.Node, at, lower string, lines map[string]int) error {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			sub, subLower := at, lower
			if n.Kind == yaml.SequenceNode {
				sub, subLower = fmt.Sprintf("%s[%d]", at, i), fmt.Sprintf("%s[%d]", lower, i)
				lines[subLower] = c.Line
			}
			if err := scanNode(path, c, sub, subLower, lines); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		seen := map[string]string{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			lk := strings.ToLower(k.Value)
			key, lowerKey := k.Value, lk
			if at != "" {
				key, lowerKey = at+"."+k.Value, lower+"."+lk
			}
			if strings.Contains(lk, "password") || lk == "passwd" {
				return usageErr("%s:%d: %q: passwords never go in wcdeploy.yaml (it is committed with the project); remove the key and use 'wcdeploy login' (OS keychain), WCDEPLOY_PASSWORD, --password-file or --password-stdin", path, k.Line, key)
			}
			if prev, ok := seen[lk]; ok {
				return usageErr("%s:%d: key %q repeats %q (keys are case-insensitive); keep one", path, k.Line, key, prev)
			}
			seen[lk] = key
			lines[lowerKey] = k.Line
			// Lower-cased in the tree itself, so that a merge key (<<) meets
			// the keys it merges in one case and YAML's rule, the mapping's
			// own key wins, holds.
			k.Value = lk
			if err := scanNode(path, val, key, lowerKey, lines); err != nil {
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
