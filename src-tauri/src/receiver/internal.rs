//! The private socket between the edge and tiny_http: a Unix socket in a directory only this
//! user can open (on Windows, loopback TCP). Requests on it also carry the edge's random
//! token, checked by the handler.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum InternalAddr {
    #[cfg(unix)]
    Unix(PathBuf),
    #[cfg_attr(unix, allow(dead_code))]
    Tcp(std::net::SocketAddr),
}

pub enum InternalStream {
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixStream),
    Tcp(TcpStream),
}

impl InternalAddr {
    pub fn connect(&self) -> io::Result<InternalStream> {
        match self {
            #[cfg(unix)]
            InternalAddr::Unix(p) => {
                std::os::unix::net::UnixStream::connect(p).map(InternalStream::Unix)
            }
            InternalAddr::Tcp(a) => {
                TcpStream::connect_timeout(a, Duration::from_secs(2)).map(InternalStream::Tcp)
            }
        }
    }
}

impl InternalStream {
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            #[cfg(unix)]
            InternalStream::Unix(s) => s.set_read_timeout(t),
            InternalStream::Tcp(s) => s.set_read_timeout(t),
        }
    }
}

impl Read for InternalStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            #[cfg(unix)]
            InternalStream::Unix(s) => s.read(buf),
            InternalStream::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for InternalStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            #[cfg(unix)]
            InternalStream::Unix(s) => s.write(buf),
            InternalStream::Tcp(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            #[cfg(unix)]
            InternalStream::Unix(s) => s.flush(),
            InternalStream::Tcp(s) => s.flush(),
        }
    }
}

/// The inner tiny_http server on a fresh private socket. The returned guard removes the
/// socket's directory when dropped.
pub fn bind() -> io::Result<(tiny_http::Server, InternalAddr, SocketDir)> {
    let to_io = |e: Box<dyn std::error::Error + Send + Sync>| io::Error::other(e.to_string());
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        let mut rnd = [0u8; 8];
        getrandom::fill(&mut rnd).map_err(|e| io::Error::other(e.to_string()))?;
        let dir = std::env::temp_dir().join(format!("privacy-desk-{}", hex::encode(rnd)));
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        let path = dir.join("edge.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path)?;
        let server = tiny_http::Server::from_listener(listener, None).map_err(to_io)?;
        Ok((server, InternalAddr::Unix(path), SocketDir(Some(dir))))
    }
    #[cfg(not(unix))]
    {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        let addr = listener.local_addr()?;
        let server = tiny_http::Server::from_listener(listener, None).map_err(to_io)?;
        Ok((server, InternalAddr::Tcp(addr), SocketDir(None)))
    }
}

pub struct SocketDir(Option<PathBuf>);

impl Drop for SocketDir {
    fn drop(&mut self) {
        if let Some(d) = self.0.take() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}
