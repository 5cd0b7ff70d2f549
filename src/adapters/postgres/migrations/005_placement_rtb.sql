-- Issue 4: a placement takes external (OpenRTB DSP) demand in POST /v1/decisions only when
-- rtb_enabled is true. Existing placements keep serving our own campaigns only.
ALTER TABLE placements ADD COLUMN rtb_enabled boolean NOT NULL DEFAULT false;
