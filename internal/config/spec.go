package config

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Input is one input as action.yml declares it.
type Input struct {
	Name        string
	Description string
	Default     string
}

// Spec is the one table of the action's inputs: action.yml itself, which
// the runner reads for the same names and defaults. The binary embeds it,
// so flags, --help and defaults outside Actions can never drift from it.
type Spec struct {
	Inputs []Input // in the order action.yml declares them
}

// ParseSpec reads the inputs of an action.yml.
func ParseSpec(actionYML []byte) (Spec, error) {
	var doc struct {
		Inputs yaml.Node `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(actionYML, &doc); err != nil {
		return Spec{}, fmt.Errorf("action.yml: %w", err)
	}
	// A mapping node holds key and value nodes in turn, in file order.
	var spec Spec
	nodes := doc.Inputs.Content
	for i := 0; i+1 < len(nodes); i += 2 {
		var in struct {
			Description string `yaml:"description"`
			Default     string `yaml:"default"`
		}
		if err := nodes[i+1].Decode(&in); err != nil {
			return Spec{}, fmt.Errorf("action.yml: input %s: %w", nodes[i].Value, err)
		}
		spec.Inputs = append(spec.Inputs, Input{Name: nodes[i].Value, Description: in.Description, Default: in.Default})
	}
	if len(spec.Inputs) == 0 {
		return Spec{}, fmt.Errorf("action.yml declares no inputs")
	}
	return spec, nil
}

// Default is the default action.yml gives the input, or "".
func (s Spec) Default(name string) string {
	for _, in := range s.Inputs {
		if in.Name == name {
			return in.Default
		}
	}
	return ""
}
