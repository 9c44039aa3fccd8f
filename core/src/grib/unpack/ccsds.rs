//! CCSDS 121.0-B (AEC) decoding for template 5.42. (Placeholder: being written.)
