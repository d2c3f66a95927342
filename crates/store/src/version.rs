//! Which Redis a server says it is.

/// Extracts `redis_version:x.y.z` from INFO output.
pub fn parse_redis_version(info: &str) -> Option<(u32, u32, u32)> {
    let line = info.lines().find_map(|l| l.trim().strip_prefix("redis_version:"))?;
    let mut parts = line.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??, parts.next().flatten().unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_from_info() {
        let info = "# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:0\r\n";
        assert_eq!(parse_redis_version(info), Some((7, 0, 15)));
        assert_eq!(parse_redis_version("redis_version:6.2\r\n"), Some((6, 2, 0)));
        assert_eq!(parse_redis_version("nothing"), None);
    }
}
