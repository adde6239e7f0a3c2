// Command gen regenerates the Go code of the plugin wire contract from the
// .proto files under plugins/proto, without protoc: protocompile compiles the
// files, and the pinned protoc-gen-go and protoc-gen-go-grpc (tool directives
// of go.mod) run through `go tool`, fed a CodeGeneratorRequest on stdin.
//
// Run it with `go generate ./plugins/proto` (or `go run ./plugins/proto/internal/gen`
// from the module root). The flag -out writes elsewhere than the source tree,
// which the package's test uses to check that the checked-in code is current.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// generators are the protoc plugins run, each a `go tool` of go.mod.
var generators = []string{"protoc-gen-go", "protoc-gen-go-grpc"}

func main() {
	root := flag.String("root", "", "directory holding the .proto files (default: plugins/proto of this module)")
	out := flag.String("out", "", "directory to write the generated code to (default: -root)")
	flag.Parse()
	if *root == "" {
		*root = defaultRoot()
	}
	if *out == "" {
		*out = *root
	}
	if err := generate(context.Background(), *root, *out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// defaultRoot is plugins/proto, found from this source file, or from the
// working directory (go generate runs in plugins/proto, go test in this
// package's directory) when the build trimmed the source paths.
func defaultRoot() string {
	var candidates []string
	if _, file, _, ok := runtime.Caller(0); ok {
		candidates = append(candidates, filepath.Join(filepath.Dir(file), "..", ".."))
	}
	candidates = append(candidates, ".", filepath.Join("..", ".."))
	for _, dir := range candidates {
		if fileExists(filepath.Join(dir, "immy", "plugin")) {
			return dir
		}
	}
	return "."
}

// protoFiles lists the .proto files under root, relative and slash-separated, sorted.
func protoFiles(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".proto") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(files)
	return files, err
}

// generate compiles every .proto file under root and writes the generated Go
// files under out, at paths relative to root.
func generate(ctx context.Context, root, out string) error {
	files, err := protoFiles(root)
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	if len(files) == 0 {
		return fmt.Errorf("gen: no .proto file under %s", root)
	}
	req, err := request(ctx, root, files)
	if err != nil {
		return err
	}
	var outputs []*pluginpb.CodeGeneratorResponse_File
	for _, g := range generators {
		fs, err := runGenerator(ctx, root, g, req)
		if err != nil {
			return err
		}
		outputs = append(outputs, fs...)
	}
	for _, f := range outputs {
		path := filepath.Join(out, filepath.FromSlash(f.GetName()))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("gen: %w", err)
		}
		if err := os.WriteFile(path, []byte(f.GetContent()), 0o644); err != nil {
			return fmt.Errorf("gen: %w", err)
		}
	}
	return nil
}

// request compiles files and builds the CodeGeneratorRequest that protoc would send.
func request(ctx context.Context, root string, files []string) (*pluginpb.CodeGeneratorRequest, error) {
	compiler := protocompile.Compiler{
		Resolver:       protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: []string{root}}),
		SourceInfoMode: protocompile.SourceInfoStandard,
	}
	compiled, err := compiler.Compile(ctx, files...)
	if err != nil {
		return nil, fmt.Errorf("gen: compile: %w", err)
	}
	// Every file with its dependencies first, each once, as protoc orders them.
	var ordered []*descriptorpb.FileDescriptorProto
	seen := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imports := fd.Imports()
		for i := range imports.Len() {
			add(imports.Get(i).FileDescriptor)
		}
		ordered = append(ordered, descriptorProto(fd))
	}
	for _, f := range compiled {
		add(f)
	}
	param := "paths=source_relative"
	return &pluginpb.CodeGeneratorRequest{
		FileToGenerate: files,
		Parameter:      &param,
		ProtoFile:      ordered,
	}, nil
}

func descriptorProto(fd protoreflect.FileDescriptor) *descriptorpb.FileDescriptorProto {
	if r, ok := fd.(linker.Result); ok {
		return r.FileDescriptorProto()
	}
	return protodesc.ToFileDescriptorProto(fd)
}

// runGenerator runs one protoc plugin through `go tool`.
func runGenerator(ctx context.Context, dir, name string, req *pluginpb.CodeGeneratorRequest) ([]*pluginpb.CodeGeneratorResponse_File, error) {
	in, err := proto.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("gen: %w", err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, goCommand(), "tool", name)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("gen: go tool %s: %w\n%s", name, err, stderr.Bytes())
	}
	var resp pluginpb.CodeGeneratorResponse
	if err := proto.Unmarshal(stdout.Bytes(), &resp); err != nil {
		return nil, fmt.Errorf("gen: go tool %s: bad response: %w", name, err)
	}
	if resp.Error != nil {
		return nil, fmt.Errorf("gen: %s: %s", name, resp.GetError())
	}
	if len(resp.File) == 0 {
		return nil, errors.New("gen: " + name + " generated nothing")
	}
	return resp.File, nil
}

// goCommand is the go command of the toolchain that built this program, or go on PATH.
func goCommand() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
