-- JSON for FocusPull's Lua side (Lua 5.1 / LuaJIT semantics: no utf8 library, no integer division).
-- encode(value) -> text; decode(text) -> value. JSON null decodes to nil inside objects and to
-- json.null in arrays (so positions keep); an empty Lua table encodes as [] unless it is json.object().
local json = {}

json.null = setmetatable({}, { __tostring = function() return "null" end })
local OBJECT = {}

function json.object(t)
  return setmetatable(t or {}, { __index = function(_, k) if k == OBJECT then return true end end })
end

local ESCAPES = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return ESCAPES[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function is_array(t)
  if rawget(t, OBJECT) or (getmetatable(t) and t[OBJECT]) then return false end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  for i = 1, n do
    if t[i] == nil then return false end
  end
  return true
end

local function encode_number(x)
  if x ~= x or x == math.huge or x == -math.huge then
    error("cannot encode " .. tostring(x) .. " in JSON")
  end
  if x == math.floor(x) and math.abs(x) < 1e15 then
    return string.format("%.0f", x)
  end
  return string.format("%.17g", x)
end

function json.encode(value)
  local kind = type(value)
  if value == nil or value == json.null then return "null" end
  if kind == "boolean" then return value and "true" or "false" end
  if kind == "number" then return encode_number(value) end
  if kind == "string" then return encode_string(value) end
  if kind ~= "table" then error("cannot encode a " .. kind .. " in JSON") end
  local parts = {}
  if is_array(value) then
    for i = 1, #value do parts[#parts + 1] = json.encode(value[i]) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  local keys = {}
  for k in pairs(value) do
    if type(k) ~= "string" then error("JSON object keys must be strings, got " .. type(k)) end
    keys[#keys + 1] = k
  end
  table.sort(keys)  -- stable output: equal snapshots are equal files
  for _, k in ipairs(keys) do parts[#parts + 1] = encode_string(k) .. ":" .. json.encode(value[k]) end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- decoding -----------------------------------------------------------------------
local function fail(text, pos, what)
  error(string.format("JSON: %s at character %d", what, pos), 0)
end

local function skip(text, pos)
  local _, stop = text:find("^[ \n\r\t]*", pos)
  return stop + 1
end

local function utf8_char(code)
  if code < 0x80 then return string.char(code) end
  if code < 0x800 then
    return string.char(0xC0 + math.floor(code / 0x40), 0x80 + code % 0x40)
  end
  if code < 0x10000 then
    return string.char(0xE0 + math.floor(code / 0x1000), 0x80 + math.floor(code / 0x40) % 0x40, 0x80 + code % 0x40)
  end
  return string.char(0xF0 + math.floor(code / 0x40000), 0x80 + math.floor(code / 0x1000) % 0x40,
    0x80 + math.floor(code / 0x40) % 0x40, 0x80 + code % 0x40)
end

local decode_value

local function decode_string(text, pos)
  local out, i = {}, pos + 1
  while true do
    local c = text:sub(i, i)
    if c == "" then fail(text, pos, "unterminated string") end
    if c == '"' then return table.concat(out), i + 1 end
    if c == "\\" then
      local e = text:sub(i + 1, i + 1)
      local simple = ({ ['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', f = '\f', n = '\n', r = '\r', t = '\t' })[e]
      if simple then
        out[#out + 1] = simple
        i = i + 2
      elseif e == "u" then
        local code = tonumber(text:sub(i + 2, i + 5), 16)
        if not code then fail(text, i, "bad \\u escape") end
        i = i + 6
        if code >= 0xD800 and code <= 0xDBFF and text:sub(i, i + 1) == "\\u" then
          local low = tonumber(text:sub(i + 2, i + 5), 16)
          if low and low >= 0xDC00 and low <= 0xDFFF then
            code = 0x10000 + (code - 0xD800) * 0x400 + (low - 0xDC00)
            i = i + 6
          end
        end
        out[#out + 1] = utf8_char(code)
      else
        fail(text, i, "bad escape")
      end
    else
      local stop = text:find('["\\]', i) or (#text + 1)
      out[#out + 1] = text:sub(i, stop - 1)
      i = stop
    end
  end
end

decode_value = function(text, pos)
  pos = skip(text, pos)
  local c = text:sub(pos, pos)
  if c == "{" then
    local obj = json.object({})
    pos = skip(text, pos + 1)
    if text:sub(pos, pos) == "}" then return obj, pos + 1 end
    while true do
      pos = skip(text, pos)
      if text:sub(pos, pos) ~= '"' then fail(text, pos, "expected a key") end
      local key
      key, pos = decode_string(text, pos)
      pos = skip(text, pos)
      if text:sub(pos, pos) ~= ":" then fail(text, pos, "expected ':'") end
      local value
      value, pos = decode_value(text, pos + 1)
      if value ~= json.null then obj[key] = value end
      pos = skip(text, pos)
      local sep = text:sub(pos, pos)
      if sep == "}" then return obj, pos + 1 end
      if sep ~= "," then fail(text, pos, "expected ',' or '}'") end
      pos = pos + 1
    end
  elseif c == "[" then
    local arr = {}
    pos = skip(text, pos + 1)
    if text:sub(pos, pos) == "]" then return arr, pos + 1 end
    while true do
      local value
      value, pos = decode_value(text, pos)
      arr[#arr + 1] = value
      pos = skip(text, pos)
      local sep = text:sub(pos, pos)
      if sep == "]" then return arr, pos + 1 end
      if sep ~= "," then fail(text, pos, "expected ',' or ']'") end
      pos = pos + 1
    end
  elseif c == '"' then
    return decode_string(text, pos)
  elseif text:sub(pos, pos + 3) == "true" then
    return true, pos + 4
  elseif text:sub(pos, pos + 4) == "false" then
    return false, pos + 5
  elseif text:sub(pos, pos + 3) == "null" then
    return json.null, pos + 4
  end
  local number = text:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
  if number and number ~= "" and tonumber(number) then
    return tonumber(number), pos + #number
  end
  fail(text, pos, "unexpected '" .. c .. "'")
end

function json.decode(text)
  local value, pos = decode_value(text, 1)
  pos = skip(text, pos)
  if pos <= #text then fail(text, pos, "trailing characters") end
  if value == json.null then return nil end
  return value
end

return json
