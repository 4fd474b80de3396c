-- Scripts > Comp > FocusPull > FocusPull Render (and the FocusPull macro's button).
-- Lua, so it runs in the free DaVinci Resolve 21.1+ (no Python scripts there), Resolve Studio and
-- Fusion Studio. `focuspull install resolve` copies this file into Fusion's Scripts/Comp/FocusPull
-- folder and fills in PLUGIN_DIR (the library folder); left nil it uses $FOCUSPULL_PLUGIN_DIR.
local PLUGIN_DIR = nil -- set by focuspull install

local dir = PLUGIN_DIR or os.getenv("FOCUSPULL_PLUGIN_DIR")
if not dir then
  print("FocusPull: the library folder is unknown; run focuspull install resolve (or fusion) again")
  return
end
local fp = dofile(dir .. "/focuspull_fusion.lua").setup(dir)
local current = comp or (fusion or fu):GetCurrentComp()
fp.run(current, "render")
