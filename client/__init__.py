"""Handwritten helpers beside the generated clients (`tuskit.gen.http.*.client`), for what
a generated client cannot know: e.g. uploading a whole file through a session."""
