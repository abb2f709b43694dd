package hclref

import (
	"context"
	"strings"
	"testing"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"github.com/docker-cghistory/docker-cghistory/internal/ref/reftest"
)

var fixed, pinAll = reftest.Fixed, reftest.PinAll

func TestHCLKinds(t *testing.T) {
	D := "@" + fixed.String()
	cases := []struct {
		name   string
		finder ref.Finder
		path   string
		in     string
		pins   []string
		left   []string
	}{
		{"bake", Bake, "docker-bake.hcl",
			"# base images\nvariable \"GO_IMAGE\" {\n  default = \"cgr.dev/chainguard/go:latest\" # build\n}\nvariable \"VERSION\" { default = \"1.2.3\" }\nvariable \"REGISTRY\" { default = \"localhost:5000\" }\nvariable \"PLATFORMS\" { default = \"linux/amd64\" }\nvariable \"RUNTIME\" { default = \"${REGISTRY}/static:latest\" }\ntarget \"app\" {\n  contexts = {\n    golang = \"docker-image://golang:1.23\"\n    src = \"../src\"\n    \"alpine\" = \"docker-image://alpine:3.20\"\n  }\n  args = { BASE = GO_IMAGE }\n  tags = [\"acme/app:latest\", \"${REGISTRY}/app:${VERSION}\"]\n}\n",
			[]string{"cgr.dev/chainguard/go:latest", "golang:1.23", "alpine:3.20"}, nil},
		{"bake CRLF and BOM", Bake, "docker-bake.override.hcl",
			"\xEF\xBB\xBFvariable \"BASE\" {\r\n  default = \"python:3.12\"\r\n}\r\n",
			[]string{"python:3.12"}, nil},
		{"bake json", Bake, "docker-bake.json",
			"{\n  \"variable\": {\n    \"BASE\": {\"default\": \"cgr.dev/chainguard/go:latest\"},\n    \"VERSION\": {\"default\": \"1.2.3\"}\n  },\n  \"target\": {\n    \"app\": {\n      \"contexts\": {\"alpine\": \"docker-image://alpine:3.20\", \"src\": \"../src\"},\n      \"tags\": [\"acme/app:1\"]\n    }\n  }\n}\n",
			[]string{"cgr.dev/chainguard/go:latest", "alpine:3.20"}, nil},
		{"terraform", Terraform, "main.tf",
			"resource \"docker_image\" \"nginx\" {\n  name = \"nginx:1.27\"\n}\nresource \"docker_container\" \"web\" {\n  image = docker_image.nginx.image_id\n  name  = \"web\"\n}\nresource \"docker_container\" \"db\" {\n  image = \"postgres:16\" // db\n}\nresource \"kubernetes_deployment\" \"app\" {\n  spec {\n    template {\n      spec {\n        init_container {\n          image = \"busybox:1.36\"\n        }\n        container {\n          image = \"${var.registry}/app:1\"\n          name  = \"app\"\n        }\n      }\n    }\n  }\n}\nresource \"kubernetes_manifest\" \"pod\" {\n  manifest = {\n    apiVersion = \"v1\"\n    kind = \"Pod\"\n    spec = { containers = [{ name = \"a\", image = \"cgr.dev/chainguard/nginx:latest\" }] }\n  }\n}\nresource \"aws_ecs_task_definition\" \"svc\" {\n  family = \"svc\"\n  container_definitions = jsonencode([\n    { name = \"app\", image = \"public.ecr.aws/nginx/nginx:1.27\", essential = true },\n  ])\n}\nresource \"aws_ecs_task_definition\" \"str\" {\n  container_definitions = \"[{\\\"image\\\": \\\"nginx:1\\\"}]\"\n}\n",
			[]string{"nginx:1.27", "postgres:16", "busybox:1.36", "cgr.dev/chainguard/nginx:latest", "public.ecr.aws/nginx/nginx:1.27"},
			[]string{"docker_image.nginx.image_id (not a string literal (an expression))", "\"${var.registry}/app:1\" (interpolation or template directive)", "\"[{\\\"image\\\": \\\"nginx:1\\\"}]\" (container_definitions given as string with escapes: pinned only in jsonencode(…) of literals or a literal heredoc of JSON)"}},
		{"terraform ecs heredoc JSON", Terraform, "ecs.tf",
			"\xEF\xBB\xBFresource \"aws_ecs_task_definition\" \"a\" {\r\n  container_definitions = <<EOF\r\n[\r\n  {\"name\": \"app\", \"image\": \"nginx:1\", \"essential\": true,\r\n   \"environment\": [{\"name\": \"image\", \"value\": \"x\"}], \"x\": {\"image\": [\"not:1\"]}},\r\n  {\"image\" : \"public.ecr.aws/docker/library/redis:7\", \"command\": [\"image\"]}\r\n]\r\nEOF\r\n}\r\nresource \"aws_ecs_task_definition\" \"b\" {\n  container_definitions = <<-JSON\n    [{\"image\": \"cgr.dev/chainguard/go:latest\", \"memory\": 512}]\n    JSON\n}\nresource \"aws_ecs_task_definition\" \"c\" {\n  container_definitions = <<EOF\n[{\"image\": \"${var.image}\"}]\nEOF\n}\nresource \"aws_ecs_task_definition\" \"d\" {\n  container_definitions = <<EOF\n[{\"image\": \"a\\u0062:1\"}]\nEOF\n}\nresource \"aws_ecs_task_definition\" \"f\" {\n  container_definitions = <<EOF\n[{\"image\": \"$${x}:1\"}]\nEOF\n}\nresource \"aws_ecs_task_definition\" \"e\" {\n  container_definitions = <<EOF\n[{\"image\": \"busybox:1\"\nEOF\n}\n",
			[]string{"nginx:1", "public.ecr.aws/docker/library/redis:7", "cgr.dev/chainguard/go:latest"},
			[]string{"<<EOF (container_definitions given as heredoc with interpolation or template directive: pinned only in jsonencode(…) of literals or a literal heredoc of JSON)", "ab:1 (string with escapes)", "<<EOF (container_definitions given as heredoc with escaped template sequences: pinned only in jsonencode(…) of literals or a literal heredoc of JSON)", "<<EOF (container_definitions given as heredoc that is not JSON (unexpected EOF): pinned only in jsonencode(…) of literals or a literal heredoc of JSON)"}},
		{"nomad", Nomad, "web.nomad.hcl",
			"job \"web\" {\n  group \"g\" {\n    task \"web\" {\n      driver = \"docker\"\n      config {\n        image = \"cgr.dev/chainguard/nginx:latest\"\n        ports = [\"http\"]\n      }\n    }\n    task \"pod\" {\n      driver = \"podman\"\n      config { image = \"docker.io/library/redis:7\" }\n    }\n    task \"raw\" {\n      driver = \"raw_exec\"\n      config { image = \"not/an:image\" }\n    }\n    task \"tpl\" {\n      driver = \"docker\"\n      config { image = \"%{ if true }a:1%{ endif }\" }\n    }\n  }\n}\n",
			[]string{"cgr.dev/chainguard/nginx:latest", "docker.io/library/redis:7"}, []string{"\"%{ if true }a:1%{ endif }\" (interpolation or template directive)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, pins, left := pinAll(t, tc.finder, tc.path, []byte(tc.in))
			if strings.Join(pins, "|") != strings.Join(tc.pins, "|") {
				t.Errorf("found %q, want %q", pins, tc.pins)
			}
			if strings.Join(left, "|") != strings.Join(tc.left, "|") {
				t.Errorf("left %q, want %q", left, tc.left)
			}
			want := tc.in
			for _, p := range tc.pins {
				want = strings.Replace(want, `"`+p, `"`+p+"\x00", 1)
				want = strings.Replace(want, "//"+p, "//"+p+"\x00", 1)
			}
			if want = strings.ReplaceAll(want, "\x00", D); out != want {
				t.Errorf("got\n%s\nwant\n%s", out, want)
			}
		})
	}
}

func TestInvalidHCL(t *testing.T) {
	_, _, err := Terraform.Find(context.Background(), "main.tf", []byte("resource \"a\" \"b\" {\n  image = \n}\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "line 2: cannot parse HCL") {
		t.Errorf("err = %v", err)
	}
	if _, _, err := Bake.Find(context.Background(), "docker-bake.hcl", []byte("a\x00")); err == nil {
		t.Error("binary accepted")
	}
}

// FuzzHCL: for any HCL the parser takes, pinning every reference of every
// HCL kind changes only their bytes and a second run finds them pinned.
func FuzzHCL(f *testing.F) {
	for _, s := range []string{
		"variable \"A\" { default = \"golang:1.23\" }\ntarget \"t\" { contexts = { a = \"docker-image://alpine:3\" } }\n",
		"resource \"docker_container\" \"a\" { image = \"nginx:1\" }\nresource \"kubernetes_manifest\" \"m\" { manifest = { image = \"a:1\" } }\n",
		"job \"j\" { group \"g\" { task \"t\" {\n driver = \"docker\"\n config { image = \"redis:7\" }\n} } }\n",
		"variable \"A\" { default = \"a\\\"b:1\" }\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, fd := range []ref.Finder{Bake, Terraform, Nomad} {
			if _, _, err := fd.Find(context.Background(), "f.hcl", []byte(s)); err != nil {
				return
			}
			pinAll(t, fd, "f.hcl", []byte(s))
		}
	})
}
