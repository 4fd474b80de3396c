-- FocusPull for Fusion: the Render, Submit to Farm and Cancel actions of the FocusPull macro, in Lua.
--
-- Lua, because the free DaVinci Resolve 21.1+ runs no Python scripts; Lua runs in every Resolve
-- (free and Studio) and in Fusion Studio. Written for Lua 5.1 semantics (Fusion's LuaJIT): no goto,
-- no integer division, no utf8 library, no table.unpack.
--
-- This is the thin Fusion adapter of the shared host package (plugin/common/focuspull_host):
--   1. find the FocusPull tools (the pressed button's tool, else the selection, else the active tool);
--   2. find the plate (and depth, matte) on disk: an EXR Loader is read where it is, anything else is
--      rendered to EXR through a temporary Saver first;
--   3. sample every control of the macro at every frame with tool:GetInput(id, time);
--   4. write that snapshot and start `<worker python> -m focuspull_host run RUN_DIR` in the
--      background: it builds the job with the one job builder and renders it (or submits it to
--      the farm), appending JSON-lines progress to RUN_DIR/events.jsonl;
--   5. follow that file (polled), show progress on the macro's Status line and the Console, pass a
--      Cancel on through RUN_DIR/cancel, and point the macro's Loader at the result.
local M = {}

M.TARGET_KEY = "FocusPull.Target"  -- set by a macro button: which tool to act on
M.CANCEL_KEY = "FocusPull.Cancel"  -- set by the Cancel button or script
M.RESULT_LOADER = "FocusPullResult"
M.CONTROLS = "FocusPullPlate"       -- the inner tool that holds the user controls
M.PIPES = { "FocusPullPlate", "FocusPullDepth", "FocusPullMatte" }  -- main inputs 1..3
M.SWITCH = "FocusPullSwitch"
M.MACRO_IDS = { MacroOperator = true, GroupOperator = true }
M.RUN_FOLDER = "_focuspull_run"
M.INPUT_FOLDER = "_focuspull_input"
M.POLL_S = 0.25
M.CANCEL_GRACE_S = 15
-- Loader "Missing Frames" entries: Fail, Hold Previous, Output Black, Wait (Fusion's Loader > Import tab).
M.MISSING_FRAMES_HOLD_PREVIOUS = 1
-- Python variables of the host's own embedded interpreter; the worker must not inherit them.
M.HOST_PYTHON_VARIABLES = { "PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "PYTHONNOUSERSITE" }

M.windows = package.config:sub(1, 1) == "\\"

-- A failure shown to the artist: error(M.fail("message", "code")).
local Failure = {}
Failure.__index = Failure
Failure.__tostring = function(e) return e.message .. " [" .. e.code .. "]" end

function M.fail(message, code)
  return setmetatable({ message = message, code = code or "client_error" }, Failure)
end

local function raise(message, code) error(M.fail(message, code), 0) end

-- small helpers --------------------------------------------------------------------------
local function say(text) print("FocusPull: " .. text) end

local function name_of(tool) return tostring(tool.Name) end

local function attrs_of(obj)
  local ok, attrs = pcall(function() return obj:GetAttrs() end)
  return (ok and attrs) or {}
end

local function reg_id(tool)
  local id = attrs_of(tool).TOOLS_RegID
  return id or tool.ID
end

local function first_of(value)
  -- Fusion answers some attributes as a table of one entry per clip ({[1] = ...}).
  if type(value) == "table" then return value[1] end
  return value
end

local function dirname(path)
  return (path:match("^(.*)[/\\][^/\\]*$")) or "."
end

local function join(a, b)
  if a:sub(-1) == "/" or a:sub(-1) == "\\" then return a .. b end
  return a .. "/" .. b
end

local function is_absolute(path)
  return path:sub(1, 1) == "/" or path:sub(1, 1) == "\\" or path:match("^%a:[/\\]") ~= nil
end

local function file_exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("*a")
  f:close()
  return text
end

local function write_file(path, text)
  local f, err = io.open(path, "wb")
  if not f then raise("cannot write " .. path .. ": " .. tostring(err), "output_error") end
  f:write(text)
  f:close()
end

function M.home()
  -- As Python's os.path.expanduser("~") that the worker uses: USERPROFILE on Windows, HOME elsewhere.
  if M.windows then return os.getenv("USERPROFILE") or os.getenv("HOME") or "C:\\" end
  return os.getenv("HOME") or "/tmp"
end

function M.setup(libdir)
  M.libdir = libdir
  -- Installed, the host package sits next to this file; in the source tree, in ../common.
  M.host_dir = libdir
  if not file_exists(libdir .. "/focuspull_host/__init__.py") then M.host_dir = libdir .. "/../common" end
  M.json = dofile(libdir .. "/focuspull_json.lua")
  M.control_list = dofile(libdir .. "/focuspull_controls.lua")
  return M
end

-- shell --------------------------------------------------------------------------------------
function M.quote(text)
  if M.windows then return '"' .. text .. '"' end
  return "'" .. text:gsub("'", "'\\''") .. "'"
end

local function native(path)
  if M.windows then return (path:gsub("/", "\\")) end
  return path
end

function M.mkdir(path)
  if M.windows then
    os.execute("if not exist " .. M.quote(native(path)) .. " mkdir " .. M.quote(native(path)))
  else
    os.execute("mkdir -p " .. M.quote(path))
  end
end

function M.sleep(seconds)
  if bmd and bmd.wait then
    bmd.wait(seconds)  -- Fusion's own wait keeps its UI responsive
  elseif M.windows then
    os.execute("ping -n 2 -w " .. math.floor(seconds * 1000) .. " 127.0.0.1 > NUL")
  else
    os.execute("sleep " .. seconds)
  end
end

-- frames ------------------------------------------------------------------------------------
-- The frame grammar of the host package (1001-1100, 1001-1100x2, 1001,1005,1010-1012), to know
-- which comp times to sample; the job builder checks the result again.
function M.parse_frames(text)
  local seen, out = {}, {}
  for token in tostring(text):gmatch("[^,%s]+") do
    local a, b, step = token:match("^(%-?%d+)%-(%-?%d+)x(%d+)$")
    if not a then a, b = token:match("^(%-?%d+)%-(%-?%d+)$") end
    if not a then a = token:match("^(%-?%d+)$") b = a end
    if not a then raise("Frames: " .. token .. " is not a frame, FIRST-LAST or FIRST-LASTxSTEP", "invalid_job") end
    a, b, step = tonumber(a), tonumber(b), tonumber(step or 1)
    if b < a or step < 1 then raise("Frames: " .. token .. " runs backwards or has step 0", "invalid_job") end
    for f = a, b, step do
      if not seen[f] then seen[f] = true out[#out + 1] = f end
    end
  end
  if #out == 0 then raise("Frames is empty; expected e.g. 1001-1100", "invalid_job") end
  table.sort(out)
  return out
end

function M.frame_runs(frames)
  local runs = {}
  for _, f in ipairs(frames) do
    local last = runs[#runs]
    if last and f == last[2] + 1 then last[2] = f else runs[#runs + 1] = { f, f } end
  end
  return runs
end

-- "/p/plate.1001.exr" -> "/p/plate.####.exr", 1001, 4
function M.pattern_from_filename(path)
  local head, digits, ext = path:match("^(.-)(%d+)(%.[%w]+)$")
  if not head then return path, nil end
  return head .. string.rep("#", #digits) .. ext, tonumber(digits), #digits
end

function M.frame_path(pattern, frame)
  local start = pattern:find("#+[^#]*$")  -- the last run of #
  if not start then return pattern end
  local hashes = pattern:match("^#+", start)
  local number = string.format("%0" .. #hashes .. "d", math.abs(frame))
  if frame < 0 then number = "-" .. number end
  return pattern:sub(1, start - 1) .. number .. pattern:sub(start + #hashes)
end

-- finding the tools ------------------------------------------------------------------------------
function M.children(tool)
  local ok, list = pcall(function() return tool:GetChildrenList() end)
  return (ok and list) or {}
end

function M.child(tool, base, optional)
  for _, c in pairs(M.children(tool)) do
    local name = name_of(c)
    -- Fusion renames the inner tools of a second copy base_1, base_2, ...
    if name == base or name:match("^" .. base .. "_%d+$") then return c end
  end
  if optional then return nil end
  raise(name_of(tool) .. ": its inner tool " .. base .. " is missing; re-add the FocusPull macro", "client_error")
end

function M.is_focuspull(tool)
  if tool == nil or not M.MACRO_IDS[reg_id(tool) or ""] then return false end
  return M.child(tool, M.RESULT_LOADER, true) ~= nil
end

function M.find_targets(comp)
  local target = comp:GetData(M.TARGET_KEY)
  if target then
    comp:SetData(M.TARGET_KEY, nil)
    local tool = comp:FindTool(tostring(target))
    if M.is_focuspull(tool) then return { tool } end
  end
  local out = {}
  for _, tool in pairs(comp:GetToolList(true) or {}) do
    if M.is_focuspull(tool) then out[#out + 1] = tool end
  end
  table.sort(out, function(a, b) return name_of(a) < name_of(b) end)
  if #out > 0 then return out end
  if M.is_focuspull(comp.ActiveTool) then return { comp.ActiveTool } end
  raise("select a FocusPull tool (Add Tool > Macros > FocusPull) and run the script again, or press the tool's own button",
    "nothing_selected")
end

-- controls ----------------------------------------------------------------------------------------
function M.control(tool, id, time)
  local value
  if time == nil then value = tool:GetInput(id) else value = tool:GetInput(id, time) end
  if value == nil then
    -- Some builds answer a macro's instance inputs only on the inner tool that holds them.
    local holder = M.child(tool, M.CONTROLS, true)
    if holder then
      if time == nil then value = holder:GetInput(id) else value = holder:GetInput(id, time) end
    end
  end
  return value
end

function M.text(tool, id)
  local value = M.control(tool, id)
  if value == nil then return "" end
  return (tostring(value):gsub("^%s+", ""):gsub("%s+$", ""))
end

function M.set_status(tool, message)
  say(name_of(tool) .. ": " .. message)
  -- Status is a passive control (INP_Passive): setting it does not re-render the comp.
  local ok = pcall(function()
    if not tool:SetInput("Status", message) then
      local holder = M.child(tool, M.CONTROLS, true)
      if holder then holder:SetInput("Status", message) end
    end
  end)
  return ok
end

-- Every control of the macro by its job field: curves sampled at every comp time, the rest read once.
function M.sample_values(tool, times)
  local values = M.json.object({})
  for _, spec in ipairs(M.control_list) do
    if spec.kind == "curve" then
      local samples = {}
      for i, t in ipairs(times) do
        local v = M.control(tool, spec.id, t)
        if v == nil then samples = nil break end
        samples[i] = tonumber(v)
      end
      values[spec.key] = samples
    elseif spec.kind ~= "host" then
      local v = M.control(tool, spec.id)
      if spec.kind == "bool" and v ~= nil then v = (v ~= 0 and v ~= false) end
      values[spec.key] = v
    end
  end
  return values
end

-- where the pixels come from ---------------------------------------------------------------------
function M.upstream(tool, index)
  local holders = { { tool, index } }
  local pipe = M.child(tool, M.PIPES[index], true)
  if pipe then holders[#holders + 1] = { pipe, 1 } end
  for _, h in ipairs(holders) do
    local ok, out = pcall(function()
      local inp = h[1]:FindMainInput(h[2])
      return inp and inp:GetConnectedOutput()
    end)
    if ok and out then return out:GetTool() end
  end
  return nil
end

-- A Loader whose EXR files the worker can read where they are. file frame = time + offset for every
-- time asked for, or nil (reverse, loop, held frames, a time outside the clip: render it instead).
function M.loader_source(comp, tool, times)
  if tool == nil or reg_id(tool) ~= "Loader" then return nil end
  local attrs = attrs_of(tool)
  local clip = first_of(attrs.TOOLST_Clip_Name) or tool:GetInput("Clip") or ""
  clip = comp:MapPath(tostring(clip))  -- path maps (Comp:, a studio's own) to a real path
  if not clip:lower():match("%.exr$") then return nil end
  for _, flag in ipairs({ "Reverse", "Loop" }) do
    local v = tool:GetInput(flag)
    if v and v ~= 0 then return nil end
  end
  local pattern, digits = M.pattern_from_filename(clip)
  if not digits then return nil end
  -- The sequence starts at the Loader's own start frame (it may differ from the picked file's digits).
  local start = tonumber(first_of(attrs.TOOLIT_Clip_StartFrame)) or digits
  local global_in = math.floor((tonumber(tool:GetInput("GlobalIn")) or 0) + 0.5)
  local global_out = math.floor((tonumber(tool:GetInput("GlobalOut")) or global_in) + 0.5)
  local trim_in = math.floor((tonumber(tool:GetInput("ClipTimeStart")) or 0) + 0.5)
  local hold_first = math.floor((tonumber(tool:GetInput("HoldFirstFrame")) or 0) + 0.5)
  local hold_last = math.floor((tonumber(tool:GetInput("HoldLastFrame")) or 0) + 0.5)
  for _, t in ipairs(times) do
    if t < global_in + hold_first or t > global_out - hold_last then return nil end
  end
  return { pattern = pattern, offset = start + trim_in - global_in - hold_first }
end

function M.saver_source(comp, tool, up, cache_dir, label)
  local stem = name_of(tool) .. "_" .. label
  comp:Lock()  -- a locked comp adds a Saver without opening a file dialog
  -- Explicit position: at (-32768, -32768) Fusion would also auto-connect it to the selected tool.
  local ok, saver = pcall(function() return comp:AddTool("Saver", false, 0, 0) end)
  comp:Unlock()
  if not ok or saver == nil then raise("cannot add a Saver to render " .. name_of(up) .. " to EXR", "client_error") end
  saver:SetInput("Clip", join(cache_dir, stem .. ".0000.exr"))  -- Fusion writes the frame number over the zeros
  saver:SetInput("OutputFormat", "OpenEXRFormat")
  saver:SetInput("CreateDir", 1)
  saver:ConnectInput("Input", up)
  return { pattern = join(cache_dir, stem .. ".####.exr"), offset = 0, saver = saver }
end

function M.source(comp, tool, index, times, cache_dir, label)
  local up = M.upstream(tool, index)
  if up == nil then return nil end
  return M.loader_source(comp, up, times) or M.saver_source(comp, tool, up, cache_dir, label)
end

function M.render_savers(comp, sources, times)
  local failure
  for _, source in ipairs(sources) do
    if source.saver then
      for _, run in ipairs(M.frame_runs(times)) do
        if failure == nil then
          -- Render answers nil (not false) when it fails; Quiet: no "Render Completed" dialog to block on.
          local ok = comp:Render({ Start = run[1], End = run[2], Tool = source.saver, Wait = true, Quiet = true })
          if not ok then
            failure = M.fail("Fusion could not render " .. name_of(source.saver) .. " to " .. source.pattern, "render_failed")
          end
        end
      end
      pcall(function() source.saver:Delete() end)
      source.saver = nil
    end
  end
  if failure then error(failure, 0) end
end

-- the snapshot -------------------------------------------------------------------------------------
function M.comp_times(comp, tool)
  local frames = M.text(tool, "Frames")
  if frames ~= "" then return M.parse_frames(frames) end
  local attrs = attrs_of(comp)
  local first = math.floor(tonumber(attrs.COMPN_RenderStart) + 0.5)
  local last = math.floor(tonumber(attrs.COMPN_RenderEnd) + 0.5)
  local out = {}
  for t = first, last do out[#out + 1] = t end
  return out
end

-- Output, else next to the comp file, else next to the plate (Resolve's comps have no file), else
-- ~/FocusPull/<comp name>: never a temporary folder that the system cleans.
function M.output_pattern(comp, tool, plate_loader_clip)
  local value = M.text(tool, "OutputFile")
  local name = name_of(tool)
  if value ~= "" then
    value = comp:MapPath(value)
    if not is_absolute(value) then
      raise("Output " .. value .. " is not an absolute path", "invalid_job")
    end
    return value
  end
  local attrs = attrs_of(comp)
  local comp_file = attrs.COMPS_FileName or ""
  local base
  if comp_file ~= "" then
    base = join(dirname(comp_file), "focuspull")
  elseif plate_loader_clip then
    base = join(dirname(plate_loader_clip), "focuspull")
  else
    local comp_name = tostring(attrs.COMPS_Name or "untitled"):gsub("[^%w%._%-]", "_")
    base = join(join(M.home(), "FocusPull"), comp_name)
  end
  return join(join(base, name), name .. ".####.exr")
end

function M.plan(comp, tool)
  local times = M.comp_times(comp, tool)
  local plate_up = M.upstream(tool, 1)
  if plate_up == nil then raise("connect a plate to the FocusPull tool's Plate input", "invalid_job") end
  local plate_clip
  if reg_id(plate_up) == "Loader" then
    plate_clip = comp:MapPath(tostring(first_of(attrs_of(plate_up).TOOLST_Clip_Name) or plate_up:GetInput("Clip") or ""))
  end
  local output = M.output_pattern(comp, tool, plate_clip)
  local out_dir = dirname(output)
  local cache_dir = join(out_dir, M.INPUT_FOLDER)
  local plate = M.source(comp, tool, 1, times, cache_dir, "plate")
  local sources = { plate }
  local depth = M.source(comp, tool, 2, times, cache_dir, "depth")
  local matte = M.source(comp, tool, 3, times, cache_dir, "matte")
  for _, s in ipairs({ depth, matte }) do
    if s then
      if s.offset ~= plate.offset then
        raise("the Depth/Matte Loader's frames are offset from the Plate's; give them the same Global In", "invalid_job")
      end
      sources[#sources + 1] = s
    end
  end
  local frames = {}
  for i, t in ipairs(times) do frames[i] = t + plate.offset end
  local inputs = M.json.object({
    frames = frames, plate = plate.pattern, output = output, values = M.sample_values(tool, times),
    depth = depth and depth.pattern or nil, matte = matte and matte.pattern or nil,
  })
  return { tool = tool, times = times, frames = frames, output = output, sources = sources, inputs = inputs,
           run_dir = join(join(out_dir, M.RUN_FOLDER), name_of(tool)) }
end

-- the worker ----------------------------------------------------------------------------------------
-- The Python that runs the host package and the worker: $FOCUSPULL_WORKER_PYTHON, else "python" of
-- the worker settings `focuspull install` wrote, else a "command" that ends in "-m focuspull".
function M.worker_python()
  local env = os.getenv("FOCUSPULL_WORKER_PYTHON")
  if env and env ~= "" then return { env } end
  local folder = os.getenv("FOCUSPULL_CONFIG_DIR")
  if not folder or folder == "" then folder = join(M.home(), ".focuspull") end
  local path = join(folder, "worker.json")
  local text = read_file(path)
  if not text then
    raise("no worker Python is configured (neither $FOCUSPULL_WORKER_PYTHON nor " .. path .. ")", "worker_not_configured")
  end
  local ok, data = pcall(M.json.decode, text)
  if not ok or type(data) ~= "table" then raise("cannot read worker settings " .. path, "worker_not_configured") end
  if type(data.python) == "string" and data.python ~= "" then return { data.python } end
  local command = data.command
  if type(command) == "table" and #command >= 3 and command[#command] == "focuspull" and command[#command - 1] == "-m" then
    local out = {}
    for i = 1, #command - 2 do out[i] = command[i] end
    return out
  end
  raise(path .. " names no worker Python (a 'command' must end in -m focuspull)", "worker_not_configured")
end

-- The script that runs the host package in the background, its output in RUN_DIR.
function M.launcher(python, run_dir)
  local argv = {}
  for i, part in ipairs(python) do argv[i] = M.quote(native(part)) end
  local run = table.concat(argv, " ") .. " -m focuspull_host run " .. M.quote(native(run_dir))
  local log = M.quote(native(join(run_dir, "log.txt")))
  local rc = M.quote(native(join(run_dir, "rc")))
  if M.windows then
    local lines = { "@echo off", "cd /D " .. M.quote(native(M.host_dir)) }
    for _, name in ipairs(M.HOST_PYTHON_VARIABLES) do lines[#lines + 1] = "set " .. name .. "=" end
    lines[#lines + 1] = run .. " > " .. log .. " 2>&1"
    lines[#lines + 1] = "echo %ERRORLEVEL%> " .. rc
    return "run.bat", table.concat(lines, "\r\n") .. "\r\n"
  end
  return "run.sh", table.concat({
    "cd " .. M.quote(M.host_dir) .. " || { echo 127 > " .. rc .. "; exit 127; }",
    "unset " .. table.concat(M.HOST_PYTHON_VARIABLES, " "),
    run .. " > " .. log .. " 2>&1",
    "echo $? > " .. rc,
  }, "\n") .. "\n"
end

function M.start_run(plan, action, chunk_size)
  local python = M.worker_python()
  M.mkdir(plan.run_dir)
  for _, name in ipairs({ "events.jsonl", "cancel", "rc", "pid", "log.txt" }) do os.remove(join(plan.run_dir, name)) end
  write_file(join(plan.run_dir, "snapshot.json"), M.json.encode(M.json.object({
    action = action, name = name_of(plan.tool), chunk_size = chunk_size, inputs = plan.inputs })))
  local script_name, script = M.launcher(python, plan.run_dir)
  local script_path = join(plan.run_dir, script_name)
  write_file(script_path, script)
  if M.windows then
    os.execute('start "" /B cmd /C ' .. M.quote(native(script_path)))
  else
    os.execute("sh " .. M.quote(script_path) .. " < /dev/null > /dev/null 2>&1 &")
  end
end

-- Read the events written since the last call: complete lines only.
function M.new_events(state)
  local f = io.open(join(state.run_dir, "events.jsonl"), "rb")
  if not f then return {} end
  f:seek("set", state.offset)
  local data = f:read("*a") or ""
  f:close()
  local events = {}
  local start = 1
  while true do
    local stop = data:find("\n", start, true)
    if not stop then break end
    local line = data:sub(start, stop - 1)
    local ok, event = pcall(M.json.decode, line)
    if ok and type(event) == "table" and event.event then events[#events + 1] = event end
    start = stop + 1
  end
  state.offset = state.offset + start - 1
  return events
end

local FINAL = { done = true, error = true, cancelled = true }

-- what the status says while the worker makes the shot's depth, before the first frame
local STAGES = { depth = "estimating depth", stabilize = "stabilising depth" }

function M.progress_text(event)
  local kind = event.event
  if kind == "start" then return "starting: " .. tostring(event.total or "?") .. " frame(s)" end
  if kind == "frame" then
    return string.format("frame %s (%s/%s)", tostring(event.frame), tostring(event.done), tostring(event.total))
  end
  if kind == "stage" then
    return string.format("%s (%s/%s)", STAGES[event.stage] or tostring(event.stage), tostring(event.done),
      tostring(event.total))
  end
  if kind == "status" then return tostring(event.message) .. "..." end
  return tostring(event.status or kind)
end

-- Follow a run to its end; a Cancel (the button's comp data) is passed on through RUN_DIR/cancel.
function M.follow(comp, plan)
  local state = { run_dir = plan.run_dir, offset = 0 }
  local cancel_sent
  while true do
    for _, event in ipairs(M.new_events(state)) do
      M.set_status(plan.tool, M.progress_text(event))
      if FINAL[event.event] then return event end
    end
    if comp:GetData(M.CANCEL_KEY) and not cancel_sent then
      comp:SetData(M.CANCEL_KEY, false)
      write_file(join(plan.run_dir, "cancel"), "cancel\n")
      cancel_sent = os.time()
      M.set_status(plan.tool, "cancelling...")
    end
    if cancel_sent and os.time() - cancel_sent > M.CANCEL_GRACE_S then
      M.kill(plan.run_dir)
      return { event = "cancelled", status = "cancelled: the worker was stopped" }
    end
    if file_exists(join(plan.run_dir, "rc")) then
      -- The runner ended: read what it wrote after the last poll, then give up waiting.
      for _, event in ipairs(M.new_events(state)) do
        if FINAL[event.event] then return event end
      end
      local log = read_file(join(plan.run_dir, "log.txt")) or ""
      local last = log:match("([^\n]+)\n*$") or "(no log output)"
      return { event = "error", code = "worker_failed_to_start",
               status = "error: the worker Python did not run focuspull_host: " .. last .. " [worker_failed_to_start]",
               text = "FocusPull: " .. log }
    end
    M.sleep(M.POLL_S)
  end
end

-- The runner writes its pid when it starts; a runner deaf to the cancel file is stopped by force.
function M.kill(run_dir)
  local pid = tonumber((read_file(join(run_dir, "pid")) or ""):match("%d+"))
  if not pid then return end
  if M.windows then
    os.execute("taskkill /PID " .. pid .. " /T /F > NUL 2>&1")
  else
    os.execute("kill -TERM " .. pid .. " 2> /dev/null")
  end
end

-- the result --------------------------------------------------------------------------------------
-- Point the macro's Loader at the output, file frames[1] at comp time times[1], and show it.
-- Fusion's Loader, as documented by working integrations: setting Clip resets the trims, Hold
-- First/Last Frame and (when the length changes) Global In; moving Global In also moves the trim
-- (ClipTimeStart) and Hold First Frame to keep the picture in place; Global In cannot pass Global
-- Out nor Global Out Global In. So: set Clip, shift In and Out in the order of the shift's
-- direction, then set the trims and holds we want.
function M.show_output(comp, tool, pattern, times, frames)
  local loader = M.child(tool, M.RESULT_LOADER)
  local length = frames[#frames] - frames[1] + 1
  local target_in = times[1]
  comp:Lock()
  local ok, err = pcall(function()
    loader:SetInput("Clip", M.frame_path(pattern, frames[1]))
    local old_in = tonumber(loader:GetInput("GlobalIn")) or 0
    local old_out = tonumber(loader:GetInput("GlobalOut")) or old_in
    local shift = target_in - old_in
    if shift > 0 then
      loader:SetInput("GlobalOut", old_out + shift)
      loader:SetInput("GlobalIn", old_in + shift)
    elseif shift < 0 then
      loader:SetInput("GlobalIn", old_in + shift)
      loader:SetInput("GlobalOut", old_out + shift)
    end
    loader:SetInput("GlobalOut", target_in + length - 1)
    loader:SetInput("ClipTimeStart", 0)
    loader:SetInput("ClipTimeEnd", length - 1)
    loader:SetInput("HoldFirstFrame", 0)
    loader:SetInput("HoldLastFrame", 0)
    -- A stepped range (1001-1100x2) leaves gaps on disk; the Loader's default for them is Fail.
    if #frames ~= length then loader:SetInput("MissingFrames", M.MISSING_FRAMES_HOLD_PREVIOUS) end
    M.child(tool, M.SWITCH):SetInput("Mix", 1.0)
  end)
  comp:Unlock()
  if not ok then error(err, 0) end
end

-- actions ----------------------------------------------------------------------------------------------
function M.act(comp, tool, action)
  M.set_status(tool, "preparing")
  comp:SetData(M.CANCEL_KEY, false)
  local plan = M.plan(comp, tool)
  M.worker_python()  -- fail before rendering anything when no worker is configured
  for _, s in ipairs(plan.sources) do
    if s.saver then M.set_status(tool, "rendering the input to EXR") break end
  end
  M.render_savers(comp, plan.sources, plan.times)
  local chunk = tonumber(M.control(tool, "FarmChunkSize")) or 10
  M.start_run(plan, action, math.floor(chunk + 0.5))
  local final = M.follow(comp, plan)
  if final.event == "done" and action == "render" then
    M.show_output(comp, tool, final.output or plan.output, plan.times, plan.frames)
  end
  M.set_status(tool, tostring(final.status or final.event))
  if final.event == "error" then say(tostring(final.text or final.message)) end
  if final.message and final.event == "done" then say(tostring(final.message)) end
  return final
end

-- Run `action` ("render" or "farm") on every target tool; a failure is reported on its tool and the
-- others still run. Returns { {tool, final event or failure}, ... }.
function M.run(comp, action)
  local outcomes = {}
  local ok, targets = pcall(M.find_targets, comp)
  if not ok then
    say(tostring(targets))
    return { { nil, targets } }
  end
  for _, tool in ipairs(targets) do
    comp:StartUndo(action == "farm" and "FocusPull submit to farm" or "FocusPull render")
    local done, result = pcall(M.act, comp, tool, action)
    comp:EndUndo(true)
    if not done then
      local failure = result
      if getmetatable(failure) ~= Failure then failure = M.fail(tostring(result), "internal_error") end
      M.set_status(tool, "error: " .. tostring(failure))
      result = failure
    end
    outcomes[#outcomes + 1] = { tool, result }
    if type(result) == "table" and result.event == "cancelled" then break end
  end
  return outcomes
end

function M.cancel(comp)
  comp:SetData(M.CANCEL_KEY, true)
  say("cancel requested")
end

return M
