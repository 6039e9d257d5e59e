#!/usr/bin/env python3
"""Checks recorded HTTP responses against docs/openapi.yaml.

Usage: check-api-responses.py OPENAPI.yaml MANIFEST.json

MANIFEST is a JSON array of {"method", "path" (the document's path template), "file"}; each file
holds one raw HTTP/1.1 response (status line, headers, body; Content-Length framing). For each,
the operation and status code must be documented, the Content-Type must be one the document
lists for that status, and a JSON body must match its schema (OpenAPI 3.1 schema objects, with
openapi-schema-validator). It covers what schemathesis cannot reach: the answers to signed
uploads and queries. Prints every mismatch; exits 1 if there is one. Run by
Tests/ParleyHTTPTests/HTTPDocumentedSuccessTests with the venv that Scripts/setup.sh installs.
"""
import json
import sys

import yaml
from openapi_schema_validator import OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

BASE = "urn:parley-openapi"


def pointer(*segments):
    return "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in segments)


def parse_response(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def check(doc, registry, method, path, raw):
    status, headers, body = parse_response(raw)
    where = f"{method} {path} -> {status}"
    operation = doc.get("paths", {}).get(path, {}).get(method.lower())
    if operation is None:
        return [f"{where}: the document has no such operation"]
    responses = operation.get("responses", {})
    if str(status) not in responses:
        return [f"{where}: status {status} is not documented (documented: {', '.join(sorted(responses))})"]
    response_pointer = ["paths", path, method.lower(), "responses", str(status)]
    response = responses[str(status)]
    if "$ref" in response:
        ref = response["$ref"]
        response_pointer = ref.removeprefix("#/").split("/")
        response = doc
        for segment in response_pointer:
            response = response[segment]
    content = response.get("content", {})
    media = headers.get("content-type", "").split(";")[0].strip()
    if media not in content:
        return [f"{where}: Content-Type {media or '(none)'} is not documented (documented: {', '.join(sorted(content)) or 'none'})"]
    if int(headers.get("content-length", len(body))) != len(body):
        return [f"{where}: Content-Length {headers.get('content-length')} but {len(body)} body bytes"]
    if media != "application/json":
        return [] if body else [f"{where}: an empty {media} body"]
    try:
        instance = json.loads(body)
    except ValueError as error:
        return [f"{where}: the body is not JSON: {error}"]
    schema = {"$ref": BASE + "#" + pointer(*response_pointer, "content", media, "schema")}
    validator = OAS31Validator(schema, registry=registry)
    return [f"{where}: {'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in validator.iter_errors(instance)]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    with open(sys.argv[2], encoding="utf-8") as f:
        manifest = json.load(f)
    registry = Registry().with_resource(BASE, Resource.from_contents(doc, default_specification=DRAFT202012))
    problems = []
    for entry in manifest:
        with open(entry["file"], "rb") as f:
            problems += check(doc, registry, entry["method"], entry["path"], f.read())
    for problem in problems:
        print(problem)
    print(f"{len(manifest)} responses checked, {len(problems)} mismatches")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
