//! The RoPA as a PDF for reading and signing: the controller, then each processing activity
//! with its Art. 30(1) fields, the processors, the checklist, and a signature block. Plain
//! text layout in the standard Helvetica fonts (WinAnsi encoding: Latin text prints as is).

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::export::{controller_rows, COLUMNS};
use super::Ropa;

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 50.0;
const BODY: f32 = 9.5;

const REGULAR: Name = Name(b"F1");
const BOLD: Name = Name(b"F2");

pub(crate) fn render(r: &Ropa) -> Vec<u8> {
    let mut w = Writer::new();
    w.line(
        BOLD,
        16.0,
        "Record of processing activities (GDPR Art. 30(1))",
    );
    w.gap(6.0);
    for (label, value) in controller_rows(r) {
        w.field(label, &value);
    }

    for (i, a) in r.activities.iter().enumerate() {
        w.gap(12.0);
        w.need(60.0);
        w.paragraph(
            BOLD,
            12.5,
            &format!("Activity {}: {}", i + 1, a.fields.purpose),
            0.0,
        );
        w.gap(2.0);
        // Every item under its own label, (b) included: a DPO checks them one by one
        // against Art. 30(1)(a)–(g).
        for c in COLUMNS {
            let v = (c.value)(a);
            if v.trim().is_empty() {
                continue;
            }
            let label = if c.article.is_empty() {
                c.header.to_owned()
            } else {
                format!("{} ({})", c.header, c.article)
            };
            w.field(&label, &v);
        }
    }

    if !r.processors.is_empty() {
        w.gap(14.0);
        w.need(60.0);
        w.line(BOLD, 12.5, "Processors");
        for p in &r.processors {
            w.gap(4.0);
            w.paragraph(BOLD, BODY, &format!("{} ({})", p.name, p.kind), 0.0);
            let d = &p.details;
            for (label, v) in [
                ("Service", d.service.as_str()),
                ("Contact", d.contact.as_str()),
                ("Location", d.location.as_str()),
                ("DPA", d.dpa_link.as_str()),
                ("DPA executed on", d.dpa_signed_on.as_deref().unwrap_or("")),
                ("Transfer safeguards", d.transfer_safeguards.as_str()),
                ("Activities", &p.activities.join("; ")),
            ] {
                if !v.trim().is_empty() {
                    w.field(label, v);
                }
            }
        }
    }

    w.gap(14.0);
    w.need(60.0);
    w.line(BOLD, 12.5, "Compliance checklist");
    for c in &r.checklist {
        let status = match &c.done_on {
            Some(d) if c.evidence.is_empty() => format!("done {d}"),
            Some(d) => format!("done {d}; evidence: {}", c.evidence),
            None => "open".to_owned(),
        };
        w.paragraph(REGULAR, BODY, &format!("{}: {status}", c.label), 8.0);
    }

    w.gap(28.0);
    w.need(70.0);
    w.paragraph(
        REGULAR,
        BODY,
        "Reviewed and approved by (name, role): ______________________________",
        0.0,
    );
    w.gap(16.0);
    w.paragraph(
        REGULAR,
        BODY,
        "Signature: ______________________________    Date: ______________",
        0.0,
    );
    w.finish(&r.controller.name)
}

struct Writer {
    pages: Vec<Content>,
    y: f32,
}

impl Writer {
    fn new() -> Writer {
        Writer {
            pages: vec![Content::new()],
            y: HEIGHT - MARGIN,
        }
    }

    fn gap(&mut self, h: f32) {
        self.y -= h;
    }

    /// Starts a new page unless `h` points of room are left.
    fn need(&mut self, h: f32) {
        if self.y - h < MARGIN {
            self.pages.push(Content::new());
            self.y = HEIGHT - MARGIN;
        }
    }

    fn line(&mut self, font: Name, size: f32, text: &str) {
        self.paragraph(font, size, text, 0.0);
    }

    /// A bold label with its value below, indented.
    fn field(&mut self, label: &str, value: &str) {
        self.need(2.0 * BODY * 1.3);
        self.paragraph(BOLD, BODY, label, 0.0);
        self.paragraph(
            REGULAR,
            BODY,
            if value.is_empty() { "-" } else { value },
            12.0,
        );
        self.gap(2.0);
    }

    /// Wrapped text at `indent` from the left margin.
    fn paragraph(&mut self, font: Name, size: f32, text: &str, indent: f32) {
        let leading = size * 1.3;
        let max = (WIDTH - 2.0 * MARGIN - indent) / (size * if font == BOLD { 0.58 } else { 0.53 });
        for l in wrap(text, max as usize) {
            self.need(leading);
            self.y -= leading;
            let page = self.pages.last_mut().expect("a page");
            page.begin_text();
            page.set_font(font, size);
            page.next_line(MARGIN + indent, self.y);
            page.show(Str(&win_ansi(&l)));
            page.end_text();
        }
    }

    fn finish(self, controller: &str) -> Vec<u8> {
        let mut pdf = Pdf::new();
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let regular = Ref::new(3);
        let bold = Ref::new(4);
        let info = Ref::new(5);
        let n = self.pages.len() as i32;
        let page_ids: Vec<Ref> = (0..n).map(|i| Ref::new(10 + 2 * i)).collect();
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree).kids(page_ids.iter().copied()).count(n);
        pdf.type1_font(regular)
            .base_font(Name(b"Helvetica"))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
        pdf.type1_font(bold)
            .base_font(Name(b"Helvetica-Bold"))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
        let title = if controller.trim().is_empty() {
            "Record of processing activities".to_owned()
        } else {
            format!("Record of processing activities: {controller}")
        };
        pdf.document_info(info)
            .title(TextStr(&title))
            .creator(TextStr("Privacy Desk"));
        for (i, content) in self.pages.into_iter().enumerate() {
            let page_id = page_ids[i];
            let content_id = Ref::new(page_id.get() + 1);
            let mut page = pdf.page(page_id);
            page.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT));
            page.parent(tree);
            page.contents(content_id);
            let mut res = page.resources();
            res.fonts().pair(REGULAR, regular).pair(BOLD, bold);
            res.finish();
            page.finish();
            let bytes = content.finish();
            pdf.stream(content_id, &bytes);
        }
        pdf.finish()
    }
}

/// Greedy word wrap at `max` characters; words longer than a line are cut.
fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(10);
    let mut out = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let mut word = word.to_owned();
            while word.chars().count() > max {
                if !line.is_empty() {
                    out.push(std::mem::take(&mut line));
                }
                let cut: String = word.chars().take(max).collect();
                word = word.chars().skip(max).collect();
                out.push(cut);
            }
            let len = line.chars().count();
            if len > 0 && len + 1 + word.chars().count() > max {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
        out.push(line);
    }
    out
}

/// Text in WinAnsiEncoding (Windows-1252); characters outside it print as `?`.
fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{ff}' => c as u8,
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            'Œ' => 0x8c,
            'œ' => 0x9c,
            'Š' => 0x8a,
            'š' => 0x9a,
            'Ž' => 0x8e,
            'ž' => 0x9e,
            'Ÿ' => 0x9f,
            '\t' => b' ',
            _ => b'?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_on_words_and_cuts_long_ones() {
        assert_eq!(wrap("aaa bbb ccc", 10), vec!["aaa bbb", "ccc"]);
        assert_eq!(wrap(&"x".repeat(25), 10).len(), 3);
        assert_eq!(wrap("", 10), vec![""]);
    }

    #[test]
    fn latin_text_is_win_ansi() {
        assert_eq!(win_ansi("Café – €"), b"Caf\xe9 \x96 \x80");
        assert_eq!(win_ansi("日"), b"?");
    }
}
