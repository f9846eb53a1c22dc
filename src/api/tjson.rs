//! TEMPORARY stand-in until the TJSON branch is merged; replaced wholesale by it.
use thrift::TConfiguration;
pub struct TJsonInputProtocol<'a>(thrift::protocol::TBinaryInputProtocol<&'a [u8]>);
impl<'a> TJsonInputProtocol<'a> {
    pub fn new(b: &'a [u8], c: TConfiguration) -> thrift::protocol::TBinaryInputProtocol<&'a [u8]> {
        thrift::protocol::TBinaryInputProtocol::with_config(b, false, c)
    }
}
pub struct TJsonOutputProtocol;
impl TJsonOutputProtocol {
    pub fn new<W: std::io::Write>(w: W) -> thrift::protocol::TBinaryOutputProtocol<W> {
        thrift::protocol::TBinaryOutputProtocol::new(w, true)
    }
}
