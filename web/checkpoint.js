// The model a member's input state is for: an anemoi checkpoint (.ckpt) or
// its metadata (.json) that the user picks from disk. The File goes to the
// worker as a handle; gik-wasm reads it with File.slice (the zip's end and
// central directory, the metadata entry, the latitude/longitude arrays):
// never uploaded, never read whole, the weights never touched.

/**
 * Puts a file picker for the model before `anchor` (the member download
 * button) and returns what the download needs: `file()`, the picked File or
 * null, and `options(base)`, the memberPickle options for it (the model's
 * inputs replace `params`).
 */
export function checkpointPicker(anchor, params) {
  const label = document.createElement("label");
  label.title = "an anemoi checkpoint (.ckpt) or its metadata (.json): the state holds exactly its inputs, " +
    "input times and grid. Read in this browser by slices, never uploaded.";
  label.append("Model ");
  const input = document.createElement("input");
  input.type = "file";
  input.id = "checkpoint";
  input.accept = ".ckpt,.pt,.pth,.json";
  const clear = document.createElement("button");
  clear.type = "button";
  clear.id = "checkpoint-clear";
  clear.textContent = "×";
  clear.title = "no model: the inputs typed beside";
  clear.hidden = true;
  label.append(input, clear);
  anchor.before(label);

  const file = () => input.files?.[0] ?? null;
  const update = () => {
    clear.hidden = !file();
    if (params) params.disabled = !!file();
  };
  input.addEventListener("change", update);
  clear.addEventListener("click", () => {
    input.value = "";
    update();
  });
  return {
    file,
    options(base) {
      const f = file();
      if (!f) return base;
      const { params: _unused, ...rest } = base;
      return { ...rest, checkpoint: f };
    },
  };
}
