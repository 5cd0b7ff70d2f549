/**
 * Second price plus increment (OpenRTB `at` = 2, the default): the single winner pays
 * max(runner-up eCPM, reserve) in its own unit plus the increment, never above its bid.
 *
 * This is GSP with one slot; the seed says as much for VCG ("Wait, this is the same as GSP for
 * single slot!"), and GSP is its K-slot generalisation, so `second_price` with several slots
 * runs GSP rather than being an error. The increment and the bid cap are applied where every
 * mechanism's price goes back into the winner's unit (run-auction.ts).
 */
export { gspClearingEcpm as secondPriceClearingEcpm } from './gsp.js';
