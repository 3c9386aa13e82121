//! The GPIO character device (`/dev/gpiochipN`): chips, line info, line requests and edge
//! events through the kernel's uAPI v2 and v1 ioctls.
