//! The RoPA as an XLSX workbook in the ICO template's layout: a "Controller" sheet with the
//! controller's details on top and one row per processing activity below, a "Processors"
//! sheet, then the compliance checklist and the observed-vs-declared gaps.

use rust_xlsxwriter::{Format, FormatAlign, Workbook, Worksheet, XlsxError};

use super::export::{controller_rows, header, COLUMNS};
use super::Ropa;
use crate::error::{Error, Result};

/// The row (0-based) of the activity table's header on the Controller sheet.
pub(crate) const TABLE_HEADER_ROW: u32 = 8;

pub(crate) const PROCESSOR_HEADERS: &[&str] = &[
    "Processor",
    "Kind",
    "Service provided",
    "Name and contact details",
    "Location of processing",
    "Link to contract (DPA)",
    "DPA executed on",
    "Safeguards for transfers",
    "Processing activities",
];

pub(crate) fn render(r: &Ropa) -> Result<Vec<u8>> {
    build(r).map_err(|e| Error::Io(format!("cannot build the XLSX workbook: {e}")))
}

fn build(r: &Ropa) -> Result<Vec<u8>, XlsxError> {
    let title = Format::new().set_bold().set_font_size(14);
    let bold = Format::new().set_bold();
    let head = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Top)
        .set_background_color("#DCE6F1")
        .set_border(rust_xlsxwriter::FormatBorder::Thin);
    let cell = Format::new()
        .set_text_wrap()
        .set_align(FormatAlign::Top)
        .set_border(rust_xlsxwriter::FormatBorder::Thin);

    let mut wb = Workbook::new();
    {
        let ws = wb.add_worksheet();
        ws.set_name("Controller")?;
        ws.write_string_with_format(
            0,
            0,
            "Record of processing activities (GDPR Art. 30(1))",
            &title,
        )?;
        for (i, (label, value)) in controller_rows(r).iter().enumerate() {
            ws.write_string_with_format(i as u32 + 1, 0, *label, &bold)?;
            ws.write_string(i as u32 + 1, 1, value)?;
        }
        for (c, col) in COLUMNS.iter().enumerate() {
            let c = c as u16;
            ws.write_string_with_format(TABLE_HEADER_ROW, c, header(col), &head)?;
            ws.set_column_width(c, if c == 0 { 12 } else { 30 })?;
        }
        for (i, a) in r.activities.iter().enumerate() {
            let row = TABLE_HEADER_ROW + 1 + i as u32;
            for (c, col) in COLUMNS.iter().enumerate() {
                ws.write_string_with_format(row, c as u16, (col.value)(a), &cell)?;
            }
        }
        ws.set_freeze_panes(TABLE_HEADER_ROW + 1, 0)?;
    }
    {
        let ws = wb.add_worksheet();
        ws.set_name("Processors")?;
        header_row(ws, PROCESSOR_HEADERS, &head)?;
        for (i, p) in r.processors.iter().enumerate() {
            let d = &p.details;
            let row = [
                p.name.clone(),
                p.kind.to_string(),
                d.service.clone(),
                d.contact.clone(),
                d.location.clone(),
                d.dpa_link.clone(),
                d.dpa_signed_on.clone().unwrap_or_default(),
                d.transfer_safeguards.clone(),
                p.activities.join("; "),
            ];
            for (c, v) in row.iter().enumerate() {
                ws.write_string_with_format(i as u32 + 1, c as u16, v, &cell)?;
            }
        }
    }
    {
        let ws = wb.add_worksheet();
        ws.set_name("Checklist")?;
        header_row(ws, &["Step", "Done on", "Evidence"], &head)?;
        for (i, c) in r.checklist.iter().enumerate() {
            let row = i as u32 + 1;
            ws.write_string_with_format(row, 0, &c.label, &cell)?;
            ws.write_string_with_format(row, 1, c.done_on.as_deref().unwrap_or(""), &cell)?;
            ws.write_string_with_format(row, 2, &c.evidence, &cell)?;
        }
    }
    {
        let ws = wb.add_worksheet();
        ws.set_name("Observed vs declared")?;
        header_row(
            ws,
            &[
                "Processor",
                "Category observed in events but not declared",
                "Events",
                "Activities of the processor",
            ],
            &head,
        )?;
        for (i, g) in r.gaps.iter().enumerate() {
            let row = i as u32 + 1;
            ws.write_string_with_format(row, 0, &g.processor, &cell)?;
            ws.write_string_with_format(row, 1, &g.label, &cell)?;
            ws.write_number_with_format(row, 2, g.events as f64, &cell)?;
            ws.write_string_with_format(row, 3, g.activities.join("; "), &cell)?;
        }
    }
    wb.save_to_buffer()
}

fn header_row(ws: &mut Worksheet, headers: &[&str], f: &Format) -> Result<(), XlsxError> {
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, f)?;
        ws.set_column_width(c as u16, 32)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}
