// Command crdcheck judges CustomResourceDefinitions the way kube-apiserver judges them when they are
// created or updated, with the CRD validation of the apiextensions-apiserver release that go.mod pins
// (Kubernetes' oldest supported minor). It runs no server: it decodes each manifest with the package's own
// scheme (decoding, v1 defaulting, conversion to the internal type, as a request body is decoded), prepares
// it as the registry does before validating (status reset on create, status kept from the stored object on
// update, stored versions, generation), then calls validation.ValidateCustomResourceDefinition or
// validation.ValidateCustomResourceDefinitionUpdate. The errors printed are the server's own field errors.
//
//	crdcheck [--old OLD.yaml]... NEW.yaml...
//
// Each file may hold several YAML documents; documents of other kinds are skipped (with a note on stderr).
// A NEW CRD whose name is among the --old ones is checked as an update over it, the old one taken as it is
// stored once created and established (status.storedVersions, Established and NamesAccepted true); any other
// is checked as a create. One line per CRD on stdout:
//
//	NAME: create|update: accepted
//	NAME: create|update: refused, N error(s)
//	  * FIELD: TYPE: DETAIL          (one line per error, as the server words it)
//
// Exit status: 0 when every CRD is accepted, 1 when any is refused, 2 on a usage or input error.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/install"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/apiserver/pkg/cel/environment"
)

const crdAPIVersion = "apiextensions.k8s.io/v1"

type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("crdcheck", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var old fileList
	flags.Var(&old, "old", "a CRD manifest standing for what is installed (repeatable); NEW CRDs of the same name are checked as updates over it")
	showVersion := flags.Bool("version", false, "print the apiextensions-apiserver release and CEL compatibility version judged against")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: crdcheck [--old OLD.yaml]... NEW.yaml...")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, versionLine())
		return 0
	}
	if flags.NArg() == 0 {
		flags.Usage()
		return 2
	}

	scheme := runtime.NewScheme()
	install.Install(scheme)
	// With no version given, the universal decoder defaults the decoded external object and converts it to
	// the internal version: what the API server does with a request body before its strategy sees it.
	decoder := serializer.NewCodecFactory(scheme).UniversalDecoder()

	installed := map[string]*apiextensions.CustomResourceDefinition{}
	for _, path := range old {
		docs, err := readCRDs(decoder, path, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "crdcheck: %v\n", err)
			return 2
		}
		for _, crd := range docs {
			prepareForCreate(crd)
			establish(crd)
			installed[crd.Name] = crd
		}
	}

	var news []*apiextensions.CustomResourceDefinition
	for _, path := range flags.Args() {
		docs, err := readCRDs(decoder, path, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "crdcheck: %v\n", err)
			return 2
		}
		news = append(news, docs...)
	}
	if len(news) == 0 {
		fmt.Fprintln(stderr, "crdcheck: no CustomResourceDefinition in the files given")
		return 2
	}

	ctx := context.Background()
	status := 0
	for _, crd := range news {
		verb := "create"
		var errs []string
		if old, ok := installed[crd.Name]; ok {
			verb = "update"
			prepareForUpdate(crd, old)
			for _, e := range validation.ValidateCustomResourceDefinitionUpdate(ctx, crd, old) {
				errs = append(errs, e.Error())
			}
		} else {
			prepareForCreate(crd)
			for _, e := range validation.ValidateCustomResourceDefinition(ctx, crd) {
				errs = append(errs, e.Error())
			}
		}
		if len(errs) == 0 {
			fmt.Fprintf(stdout, "%s: %s: accepted\n", crd.Name, verb)
			continue
		}
		status = 1
		noun := "errors"
		if len(errs) == 1 {
			noun = "error"
		}
		fmt.Fprintf(stdout, "%s: %s: refused, %d %s\n", crd.Name, verb, len(errs), noun)
		for _, e := range errs {
			// an error's text is one line in practice; keep it so if a detail quotes a newline
			fmt.Fprintf(stdout, "  * %s\n", strings.ReplaceAll(e, "\n", `\n`))
		}
	}
	return status
}

// readCRDs decodes every CustomResourceDefinition document of `path` to the internal type.
func readCRDs(decoder runtime.Decoder, path string, stderr io.Writer) ([]*apiextensions.CustomResourceDefinition, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var docs []*apiextensions.CustomResourceDefinition
	for index := 0; ; index++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		data, err := utilyaml.ToJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, index, err)
		}
		if trimmed := bytes.TrimSpace(data); len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
			continue
		}
		var meta metav1.TypeMeta
		if err := json.Unmarshal(data, &meta); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, index, err)
		}
		if meta.Kind != "CustomResourceDefinition" {
			fmt.Fprintf(stderr, "crdcheck: %s: document %d: skipped a %s %s\n", path, index, meta.APIVersion, meta.Kind)
			continue
		}
		if meta.APIVersion != crdAPIVersion {
			return nil, fmt.Errorf("%s: document %d: %s is not served (only %s)", path, index, meta.APIVersion, crdAPIVersion)
		}
		obj, _, err := decoder.Decode(data, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, index, err)
		}
		crd, ok := obj.(*apiextensions.CustomResourceDefinition)
		if !ok {
			return nil, fmt.Errorf("%s: document %d: decoded to %T", path, index, obj)
		}
		docs = append(docs, crd)
	}
}

// prepareForCreate does to a new CRD what the registry does before validating a create: whatever status
// was sent is dropped, the generation starts at 1 and the storage version is recorded as stored.
func prepareForCreate(crd *apiextensions.CustomResourceDefinition) {
	crd.Status = apiextensions.CustomResourceDefinitionStatus{}
	crd.Generation = 1
	recordStorageVersion(crd)
}

// establish makes a created CRD what the server holds once it serves it: stored (a resourceVersion, which
// an update must carry: CRDs allow no unconditional update), names accepted and established.
func establish(crd *apiextensions.CustomResourceDefinition) {
	crd.ResourceVersion = "1"
	crd.Status.AcceptedNames = crd.Spec.Names
	for _, t := range []apiextensions.CustomResourceDefinitionConditionType{apiextensions.NamesAccepted, apiextensions.Established} {
		apiextensions.SetCRDCondition(crd, apiextensions.CustomResourceDefinitionCondition{
			Type: t, Status: apiextensions.ConditionTrue, Reason: "crdcheck", Message: "as installed",
		})
	}
}

// prepareForUpdate does to an updated CRD what the API server does before validating an update: system
// metadata (and the resourceVersion a patch or apply is applied at) and the whole status come from the
// stored object, the generation moves on when the spec changes, and a new storage version is added to the
// stored ones.
func prepareForUpdate(crd, old *apiextensions.CustomResourceDefinition) {
	crd.UID = old.UID
	crd.CreationTimestamp = old.CreationTimestamp
	crd.ResourceVersion = old.ResourceVersion
	crd.Status = *old.Status.DeepCopy()
	crd.Generation = old.Generation
	if !apiequality.Semantic.DeepEqual(old.Spec, crd.Spec) {
		crd.Generation = old.Generation + 1
	}
	recordStorageVersion(crd)
}

func recordStorageVersion(crd *apiextensions.CustomResourceDefinition) {
	for _, v := range crd.Spec.Versions {
		if v.Storage {
			if !apiextensions.IsStoredVersion(crd, v.Name) {
				crd.Status.StoredVersions = append(crd.Status.StoredVersions, v.Name)
			}
			return
		}
	}
}

func versionLine() string {
	module := "k8s.io/apiextensions-apiserver"
	release := "(unknown)"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == module {
				release = dep.Version
			}
		}
	}
	return fmt.Sprintf("%s %s, CEL compatibility version %s", module, release, environment.DefaultCompatibilityVersion())
}
